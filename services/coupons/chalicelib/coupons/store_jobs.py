"""Bulk issue jobs and grant records in the coupons table (keys from ``store``).

- ``job#<shop>#<job>`` / ``job``: the job, its counters and ``done_chunks`` (a string set):
  a chunk's counts are added in the same write that records it as done, so a redelivered
  chunk never counts twice and the counters end exactly at the input size.
- ``grant#<shop>#<grant>`` / ``grant``: one per grant id: ``pending`` with the coupon id
  it will issue, then ``issued`` or ``failed`` with the reason.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import clock
from chalicelib.coupons import store
from chalicelib.coupons.store import grant_key, job_key, plan_key

RETENTION_SECONDS = 90 * 86400  # jobs, plans and grant records are cleaned up by TTL after this


def create_job(shop: str, job: dict[str, Any]) -> None:
    if not store.put_new(job_key(shop, job["job_id"]), job):
        raise RuntimeError(f"job id {job['job_id']} already exists")  # ids are random: never in practice


def get_job(shop: str, job_id: str) -> dict[str, Any] | None:
    return store.get(job_key(shop, job_id))


def mark_started(shop: str, job_id: str) -> None:
    store.update(job_key(shop, job_id), "SET started = :yes", "attribute_exists(pk)", values={"yes": True})


def complete_chunk(shop: str, job_id: str, chunk: int, issued: int, skipped: int, failed: int) -> bool:
    """Add a chunk's outcome once; False when it had been added already."""
    ok, _ = store.update(
        job_key(shop, job_id),
        "ADD issued :i, skipped :s, failed :f, done_chunks :chunk",
        "attribute_exists(pk) AND NOT contains(done_chunks, :name)",
        values={"i": issued, "s": skipped, "f": failed, "chunk": {str(chunk)}, "name": str(chunk)},
    )
    return ok


def chunk_done(job: dict[str, Any], chunk: int) -> bool:
    return str(chunk) in (job.get("done_chunks") or ())


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
