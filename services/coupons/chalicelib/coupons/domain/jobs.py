"""Bulk issue jobs, pure: the reasons a customer got no coupon, chunks, a chunk's outcome
and the job as a merchant reads it."""

from __future__ import annotations

from typing import Any

from chalicelib.coupons.domain.terms import JobProgress

# ---- bulk issue -------------------------------------------------------------------------

# Why a customer of a bulk job got no coupon. ``skipped``: nothing went wrong, the customer
# was not due one; ``failed``: the job could not do what was asked.
SKIPPED_DUPLICATE = "duplicate"  # listed more than once: counted once
SKIPPED_LIMIT = "per_customer_limit_reached"  # already holds as many as the template allows
SKIPPED_SOLD_OUT = "sold_out"  # the stock ran out before their turn
FAILED_NOT_ACTIVE = "not_active"  # the claim window had ended (or not begun), or it was ended
FAILED_PAUSED = "paused"  # the merchant had paused the template
FAILED_TEMPLATE = "template_not_found"
FAILED_DEAD_LETTERED = "dead_lettered"  # their chunk kept failing and went to the DLQ
SKIP_REASONS = (SKIPPED_DUPLICATE, SKIPPED_LIMIT, SKIPPED_SOLD_OUT)
FAIL_REASONS = (FAILED_NOT_ACTIVE, FAILED_PAUSED, FAILED_TEMPLATE, FAILED_DEAD_LETTERED)
SAMPLE_SIZE = 10  # ids kept per reason code


def chunk_customers(customer_ids: list[str], size: int) -> tuple[list[list[str]], list[str]]:
    """Unique customers in input order, cut into chunks; and the duplicates dropped (each
    repeat of an id, in input order)."""
    unique = list(dict.fromkeys(customer_ids))
    seen: set[str] = set()
    duplicates = []
    if len(unique) != len(customer_ids):
        for customer in customer_ids:
            if customer in seen:
                duplicates.append(customer)
            seen.add(customer)
    return [unique[i : i + size] for i in range(0, len(unique), size)], duplicates


class Outcome:
    """What became of a chunk's customers: issued, and counts by reason code with a sample
    of up to ``SAMPLE_SIZE`` ids per code."""

    def __init__(self) -> None:
        self.issued = 0
        self.skipped: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.samples: dict[str, list[str]] = {}

    def _add(self, counts: dict[str, int], code: str, customers: list[str]) -> None:
        if not customers:
            return
        counts[code] = counts.get(code, 0) + len(customers)
        sample = self.samples.setdefault(code, [])
        sample.extend(customers[: SAMPLE_SIZE - len(sample)])

    def skip(self, code: str, customers: list[str]) -> None:
        if code not in SKIP_REASONS:
            raise ValueError(f"not a skip reason: {code}")
        self._add(self.skipped, code, customers)

    def fail(self, code: str, customers: list[str]) -> None:
        if code not in FAIL_REASONS:
            raise ValueError(f"not a failure reason: {code}")
        self._add(self.failed, code, customers)

    def as_record(self) -> dict[str, Any]:
        return {"skipped_by": self.skipped, "failed_by": self.failed, "samples": self.samples}


def job_status(job: JobProgress) -> str:
    """queued, running or done: done once every chunk is, which a segment's job knows only
    once its last chunk of members arrived."""
    done = len(job.done_chunks)
    if not job.members_pending and done >= int(job.chunk_total):
        return "done"
    if done or job.started:
        return "running"
    return "queued"


def job_view(job: JobProgress) -> dict[str, Any]:
    """The job as a merchant reads it: counts by reason code (codes with a count), samples of
    those codes (at most ``SAMPLE_SIZE`` ids each), the chunks that went to the DLQ."""
    skipped = {c: int(job.skipped_by.get(c, 0)) for c in SKIP_REASONS}
    failed = {c: int(job.failed_by.get(c, 0)) for c in FAIL_REASONS}
    counted = {c: n for c, n in (skipped | failed).items() if n > 0}
    return {
        "job_id": job.job_id,
        "template_id": job.template_id,
        "total": job.total,
        "issued": job.issued,
        "skipped": job.skipped,
        "failed": job.failed,
        "created_at": job.created_at,
        "status": job_status(job),
        "skipped_by_reason": {c: n for c, n in skipped.items() if n > 0},
        "failed_by_reason": {c: n for c, n in failed.items() if n > 0},
        "samples": {c: list(job.samples.get(c) or [])[:SAMPLE_SIZE] for c in counted},
        "dead_lettered_chunks": sorted(int(c) for c in job.dead_chunks),
        "segment_id": job.segment_id,
        "segment_error": job.segment_error,
    }
