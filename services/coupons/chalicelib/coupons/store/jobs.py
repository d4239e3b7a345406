"""Bulk issue jobs and their chunk plans.

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
  A job for an audience segment has ``segment_id`` and, until its last chunk of members
  arrived, ``members_pending``; ``members_total`` once its size is known.
- ``plan#<shop>#<job>#<chunk>`` / ``plan``: a chunk's outcome, fixed before its coupons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.coupons import domain
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import job_key, plan_key
from chalicelib.coupons.store.records import FAILED_PREFIX, SAMPLE_PREFIX, SKIPPED_PREFIX, Job, Plan


def _outcome_update(
    outcome: dict[str, Any], job: Job
) -> tuple[list[str], list[str], dict[str, str], dict[str, Any]]:
    """ADD and SET clauses, names and values adding a chunk's reason counts and samples."""
    adds: list[str] = []
    sets: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    n = 0
    for prefix, counts in (
        (SKIPPED_PREFIX, outcome.get("skipped_by")),
        (FAILED_PREFIX, outcome.get("failed_by")),
    ):
        for code, count in (counts or {}).items():
            n += 1
            names[f"#r{n}"], values[f"r{n}"] = f"{prefix}{code}", int(count)
            adds.append(f"#r{n} :r{n}")
    for code, ids in (outcome.get("samples") or {}).items():
        room = domain.SAMPLE_SIZE - len(job.samples.get(code) or ())
        if room > 0 and ids:
            n += 1
            names[f"#s{n}"], values[f"s{n}"] = f"{SAMPLE_PREFIX}{code}", list(ids)[:room]
            sets.append(f"#s{n} = list_append(if_not_exists(#s{n}, :empty), :s{n})")
            values["empty"] = []
    return adds, sets, names, values


class DynamoJobs:
    def create(self, shop: str, job: Job) -> None:
        if not items.create(job_key(shop, job.job_id), job.to_item()).applied:
            raise RuntimeError(f"job id {job.job_id} already exists")  # ids are random: never in practice

    def get(self, shop: str, job_id: str) -> Job | None:
        item = items.get(job_key(shop, job_id))
        return Job.from_item(item) if item is not None else None

    def note_members(self, shop: str, job_id: str, total: int, chunk_total: int | None) -> None:
        """Both writes are conditional on not being done yet, so copies change nothing."""
        key = job_key(shop, job_id)
        items.update(
            key,
            "SET #total = :t, members_total = :t",
            "attribute_exists(pk) AND attribute_not_exists(members_total)",
            names={"#total": "total"},
            values={"t": total},
        )
        if chunk_total is not None:
            items.update(
                key,
                "SET chunk_total = :n REMOVE members_pending",
                "attribute_exists(members_pending)",
                values={"n": chunk_total},
            )

    def fail_export(self, shop: str, job_id: str, reason: str) -> None:
        items.update(
            job_key(shop, job_id),
            "SET segment_error = :r, chunk_total = :zero REMOVE members_pending",
            "attribute_exists(members_pending) AND attribute_not_exists(members_total)",
            values={"r": reason, "zero": 0},
        )

    def mark_started(self, shop: str, job_id: str) -> None:
        items.update(
            job_key(shop, job_id), "SET started = :yes", "attribute_exists(pk)", values={"yes": True}
        )

    def complete_chunk(self, shop: str, job: Job, chunk: int, size: int, outcome: dict[str, Any]) -> bool:
        """``outcome``: ``issued``, ``skipped_by`` / ``failed_by`` ({code: count}), ``samples``
        ({code: [ids]}). A chunk recorded as dead-lettered (``size`` customers counted
        ``failed:dead_lettered``) gets its real outcome instead, once."""
        skipped = sum(int(v) for v in (outcome.get("skipped_by") or {}).values())
        failed = sum(int(v) for v in (outcome.get("failed_by") or {}).values())
        adds, sets, names, values = _outcome_update(outcome, job)
        values.update(i=int(outcome.get("issued", 0)), s=skipped, chunk={str(chunk)}, name=str(chunk))
        key = job_key(shop, job.job_id)
        setting = f" SET {', '.join(sets)}" if sets else ""
        written = items.update(
            key,
            "ADD "
            + ", ".join(["issued :i", "skipped :s", "failed :f", "done_chunks :chunk", *adds])
            + setting,
            "attribute_exists(pk) AND NOT contains(done_chunks, :name)",
            names=names or None,
            values={**values, "f": failed},
        )
        if written.applied or str(chunk) not in ((written.item or {}).get("dead_chunks") or ()):
            return written.applied
        names["#dead"] = f"{FAILED_PREFIX}{domain.FAILED_DEAD_LETTERED}"
        return items.update(
            key,
            "ADD "
            + ", ".join(["issued :i", "skipped :s", "failed :f", "#dead :undead", *adds])
            + setting
            + " DELETE dead_chunks :chunk",
            "contains(dead_chunks, :name)",
            names=names,
            values={**values, "f": failed - size, "undead": -size},
        ).applied

    def mark_dead(self, shop: str, job: Job, chunk: int, customers: Sequence[str]) -> bool:
        code = domain.FAILED_DEAD_LETTERED
        sample = list(customers[: max(0, domain.SAMPLE_SIZE - len(job.samples.get(code) or ()))])
        return items.update(
            job_key(shop, job.job_id),
            "ADD failed :n, #dead :n, done_chunks :chunk, dead_chunks :chunk"
            " SET #sample = list_append(if_not_exists(#sample, :empty), :ids)",
            "attribute_exists(pk) AND NOT contains(done_chunks, :name)",
            names={"#dead": f"{FAILED_PREFIX}{code}", "#sample": f"{SAMPLE_PREFIX}{code}"},
            values={
                "n": len(customers),
                "chunk": {str(chunk)},
                "name": str(chunk),
                "empty": [],
                "ids": sample,
            },
        ).applied

    def get_plan(self, shop: str, job_id: str, chunk: int) -> Plan | None:
        item = items.get(plan_key(shop, job_id, chunk))
        return Plan.from_item(item) if item is not None else None

    def put_plan(self, shop: str, job_id: str, chunk: int, plan: Plan) -> bool:
        item = {**plan.to_item(), "expires_at_epoch": items.expiry()}
        return items.create(plan_key(shop, job_id, chunk), item).applied
