"""Bulk issue jobs and grant records in the coupons table (keys from ``store``).

- ``job#<shop>#<job>`` / ``job``: the job, its counters and ``done_chunks`` (a string set):
  a chunk's counts are added in the same write that records it as done, so a redelivered
  chunk never counts twice and the counters end exactly at the input size. Beside the
  ``issued``/``skipped``/``failed`` totals, one number per reason code (``skipped:<code>``,
  ``failed:<code>``, top-level so ``ADD`` works on a job of any age) and a sample of ids
  per code (``sample:<code>``, a list; a chunk appends only what the job it read had room
  for, so it stays near ``SAMPLE_SIZE``; readers cut it there).
  ``dead_chunks``: chunks recorded as dead-lettered (also in ``done_chunks``, their
  customers counted ``failed:dead_lettered``); a later success of that chunk replaces this
  with its real outcome in one write.
- ``grant#<shop>#<grant>`` / ``grant``: one per grant id: ``pending`` with the coupon id
  it will issue, then ``issued`` or ``failed`` with the reason.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import clock
from chalicelib.coupons import domain, store
from chalicelib.coupons.store import grant_key, job_key, plan_key

RETENTION_SECONDS = 90 * 86400  # jobs, plans and grant records are cleaned up by TTL after this


def create_job(shop: str, job: dict[str, Any]) -> None:
    if not store.put_new(job_key(shop, job["job_id"]), job):
        raise RuntimeError(f"job id {job['job_id']} already exists")  # ids are random: never in practice


def get_job(shop: str, job_id: str) -> dict[str, Any] | None:
    return store.get(job_key(shop, job_id))


def mark_started(shop: str, job_id: str) -> None:
    store.update(job_key(shop, job_id), "SET started = :yes", "attribute_exists(pk)", values={"yes": True})


def _outcome_update(outcome: dict[str, Any], job: dict[str, Any]) -> tuple[list[str], list[str], dict, dict]:
    """ADD and SET clauses, names and values adding a chunk's reason counts and samples."""
    adds: list[str] = []
    sets: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    n = 0
    for kind in ("skipped", "failed"):
        for code, count in (outcome.get(f"{kind}_by") or {}).items():
            n += 1
            names[f"#r{n}"], values[f"r{n}"] = f"{kind}:{code}", int(count)
            adds.append(f"#r{n} :r{n}")
    for code, ids in (outcome.get("samples") or {}).items():
        room = domain.SAMPLE_SIZE - len(job.get(f"sample:{code}") or ())
        if room > 0 and ids:
            n += 1
            names[f"#s{n}"], values[f"s{n}"] = f"sample:{code}", list(ids)[:room]
            sets.append(f"#s{n} = list_append(if_not_exists(#s{n}, :empty), :s{n})")
            values["empty"] = []
    return adds, sets, names, values


def complete_chunk(shop: str, job: dict[str, Any], chunk: int, size: int, outcome: dict[str, Any]) -> bool:
    """Add a chunk's outcome once; False when it had been added already.

    ``outcome``: ``issued``, ``skipped_by`` / ``failed_by`` ({code: count}), ``samples``
    ({code: [ids]}). A chunk recorded as dead-lettered (``size`` customers
    counted ``failed:dead_lettered``) gets its real outcome instead, once."""
    skipped = sum(int(v) for v in (outcome.get("skipped_by") or {}).values())
    failed = sum(int(v) for v in (outcome.get("failed_by") or {}).values())
    adds, sets, names, values = _outcome_update(outcome, job)
    values.update(i=int(outcome.get("issued", 0)), s=skipped, chunk={str(chunk)}, name=str(chunk))
    key = job_key(shop, job["job_id"])
    setting = f" SET {', '.join(sets)}" if sets else ""
    ok, old = store.update(
        key,
        "ADD " + ", ".join(["issued :i", "skipped :s", "failed :f", "done_chunks :chunk", *adds]) + setting,
        "attribute_exists(pk) AND NOT contains(done_chunks, :name)",
        names=names or None,
        values={**values, "f": failed},
    )
    if ok or str(chunk) not in (old.get("dead_chunks") or ()):
        return ok
    names["#dead"] = f"failed:{domain.FAILED_DEAD_LETTERED}"
    ok, _ = store.update(
        key,
        "ADD "
        + ", ".join(["issued :i", "skipped :s", "failed :f", "#dead :undead", *adds])
        + setting
        + " DELETE dead_chunks :chunk",
        "contains(dead_chunks, :name)",
        names=names,
        values={**values, "f": failed - size, "undead": -size},
    )
    return ok


def mark_dead(shop: str, job: dict[str, Any], chunk: int, customers: list[str]) -> bool:
    """Record a chunk that is going to the DLQ: done, its customers failed ``dead_lettered``.
    Nothing when the chunk was done already; False then."""
    code = domain.FAILED_DEAD_LETTERED
    sample = customers[: max(0, domain.SAMPLE_SIZE - len(job.get(f"sample:{code}") or ()))]
    ok, _ = store.update(
        job_key(shop, job["job_id"]),
        "ADD failed :n, #dead :n, done_chunks :chunk, dead_chunks :chunk"
        " SET #sample = list_append(if_not_exists(#sample, :empty), :ids)",
        "attribute_exists(pk) AND NOT contains(done_chunks, :name)",
        names={"#dead": f"failed:{code}", "#sample": f"sample:{code}"},
        values={"n": len(customers), "chunk": {str(chunk)}, "name": str(chunk), "empty": [], "ids": sample},
    )
    return ok


def chunk_done(job: dict[str, Any], chunk: int) -> bool:
    """The chunk's real outcome is on the job (done, and not only recorded as dead-lettered)."""
    name = str(chunk)
    return name in (job.get("done_chunks") or ()) and name not in (job.get("dead_chunks") or ())


def get_plan(shop: str, job_id: str, chunk: int) -> dict[str, Any] | None:
    return store.get(plan_key(shop, job_id, chunk))


def put_plan(shop: str, job_id: str, chunk: int, plan: dict[str, Any]) -> bool:
    """Fix a chunk's outcome before any of its coupons is written; False if one was fixed first."""
    return store.put_new(plan_key(shop, job_id, chunk), {**plan, "expires_at_epoch": expiry()})


def expiry() -> int:
    """The TTL epoch of a job, plan or grant record written now."""
    return clock.epoch(clock.now()) + RETENTION_SECONDS


def start_grant(shop: str, grant: dict[str, Any]) -> dict[str, Any]:
    """The grant's record: created ``pending`` the first time, as it is on a redelivery."""
    key = grant_key(shop, grant["grant_id"])
    if store.put_new(key, {**grant, "status": "pending", "expires_at_epoch": expiry()}):
        return {**grant, "status": "pending"}
    found = store.get(key)
    if found is None:  # pragma: no cover - created and deleted in between: never (no deletes)
        raise RuntimeError("grant record vanished")
    return found


def finish_grant(shop: str, grant_id: str, status: str, reason: str | None) -> None:
    if reason is None:
        store.update(
            grant_key(shop, grant_id), "SET #st = :status", names={"#st": "status"}, values={"status": status}
        )
    else:
        store.update(
            grant_key(shop, grant_id),
            "SET #st = :status, reason = :reason",
            names={"#st": "status"},
            values={"status": status, "reason": reason},
        )
