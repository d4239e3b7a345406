"""In-memory bulk jobs and grants (``fakes`` has the rest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from chalicelib.coupons.store.records import Coupon, Grant, Invalidation, Job, Plan

from .fakes import Key, _Counted


def _add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {**counts, **{k: counts.get(k, 0) + int(v) for k, v in more.items()}}


class FakeJobs(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Job] = {}
        self.plans: dict[Key, Plan] = {}
        self.sized: set[str] = set()  # segment jobs whose size is known (members_total)

    def create(self, shop: str, job: Job) -> None:
        self._call("create")
        if (shop, job.job_id) in self.items:
            raise RuntimeError("job exists")
        self.items[(shop, job.job_id)] = job

    def get(self, shop: str, job_id: str) -> Job | None:
        self._call("get")
        return self.items.get((shop, job_id))

    def note_members(self, shop: str, job_id: str, total: int, chunk_total: int | None) -> None:
        self._call("note_members")
        job = self.items.get((shop, job_id))
        if job is None:
            return
        if job.job_id not in self.sized:
            self.sized.add(job.job_id)
            job = dataclasses.replace(job, total=total)
        if chunk_total is not None and job.members_pending:
            job = dataclasses.replace(job, chunk_total=chunk_total, members_pending=False)
        self.items[(shop, job_id)] = job

    def fail_export(self, shop: str, job_id: str, reason: str) -> None:
        self._call("fail_export")
        job = self.items.get((shop, job_id))
        if job is not None and job.members_pending and job.job_id not in self.sized:
            self.items[(shop, job_id)] = dataclasses.replace(
                job, segment_error=reason, chunk_total=0, members_pending=False
            )

    def mark_started(self, shop: str, job_id: str) -> None:
        self._call("mark_started")
        if (shop, job_id) in self.items:
            self.items[(shop, job_id)] = dataclasses.replace(self.items[(shop, job_id)], started=True)

    def _samples(self, current: Job, seen: Job, samples: dict[str, list[str]]) -> dict[str, list[str]]:
        merged = {k: list(v) for k, v in current.samples.items()}
        for code, ids in samples.items():
            room = 10 - len(seen.samples.get(code) or ())
            if room > 0 and ids:
                merged[code] = merged.get(code, []) + list(ids)[:room]
        return merged

    def complete_chunk(self, shop: str, job: Job, chunk: int, size: int, outcome: dict[str, Any]) -> bool:
        self._call("complete_chunk")
        current = self.items.get((shop, job.job_id))
        if current is None:
            return False
        skipped_by, failed_by = outcome.get("skipped_by") or {}, outcome.get("failed_by") or {}
        name = str(chunk)
        if name in current.done_chunks and name not in current.dead_chunks:
            return False
        dead = name in current.dead_chunks
        failed_by = _add(dict(failed_by), {"dead_lettered": -size}) if dead else dict(failed_by)
        self.items[(shop, job.job_id)] = dataclasses.replace(
            current,
            issued=current.issued + int(outcome.get("issued", 0)),
            skipped=current.skipped + sum(skipped_by.values()),
            failed=current.failed
            + sum(int(v) for v in (outcome.get("failed_by") or {}).values())
            - (size if dead else 0),
            skipped_by=_add(current.skipped_by, skipped_by),
            failed_by=_add(current.failed_by, failed_by),
            samples=self._samples(current, job, outcome.get("samples") or {}),
            done_chunks=current.done_chunks | {name},
            dead_chunks=current.dead_chunks - {name},
        )
        return True

    def mark_dead(self, shop: str, job: Job, chunk: int, customers: Sequence[str]) -> bool:
        self._call("mark_dead")
        current = self.items.get((shop, job.job_id))
        if current is None or str(chunk) in current.done_chunks:
            return False
        self.items[(shop, job.job_id)] = dataclasses.replace(
            current,
            failed=current.failed + len(customers),
            failed_by=_add(current.failed_by, {"dead_lettered": len(customers)}),
            samples=self._samples(current, job, {"dead_lettered": list(customers)}),
            done_chunks=current.done_chunks | {str(chunk)},
            dead_chunks=current.dead_chunks | {str(chunk)},
        )
        return True

    def get_plan(self, shop: str, job_id: str, chunk: int) -> Plan | None:
        self._call("get_plan")
        return self.plans.get((shop, job_id, str(chunk)))

    def put_plan(self, shop: str, job_id: str, chunk: int, plan: Plan) -> bool:
        self._call("put_plan")
        if (shop, job_id, str(chunk)) in self.plans:
            return False
        self.plans[(shop, job_id, str(chunk))] = plan
        return True


class FakeGrants(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Grant] = {}

    def start(self, shop: str, grant: Grant) -> Grant:
        self._call("start")
        return self.items.setdefault((shop, grant.grant_id), dataclasses.replace(grant, status="pending"))

    def finish(self, shop: str, grant_id: str, status: str, reason: str | None) -> None:
        self._call("finish")
        self.items[(shop, grant_id)] = dataclasses.replace(
            self.items[(shop, grant_id)], status=status, reason=reason
        )

    def get(self, shop: str, grant_id: str) -> Grant | None:
        self._call("get")
        return self.items.get((shop, grant_id))


class FakeInvalidations(_Counted):
    """Invalidation jobs over the fake coupons (a scan is one page of every coupon)."""

    def __init__(self, coupons: Any) -> None:
        super().__init__()
        self.coupons = coupons
        self.items: dict[Key, Invalidation] = {}
        self.pages: set[tuple[str, str, str]] = set()

    def create(self, shop: str, job: Invalidation) -> None:
        self.items.setdefault((shop, job.invalidation_id), job)

    def get(self, shop: str, invalidation_id: str) -> Invalidation | None:
        return self.items.get((shop, invalidation_id))

    def scan_page(
        self, shop: str, template_id: str, segment: int, segments: int, start: dict[str, Any] | None
    ) -> tuple[list[Coupon], dict[str, Any] | None]:
        mine = [
            c for k, c in sorted(self.coupons.items.items()) if k[0] == shop and c.template_id == template_id
        ]
        return [c for n, c in enumerate(mine) if n % segments == segment], None

    def void(self, shop: str, coupon: Coupon, job_id: str, now_iso: str) -> bool:
        key = (shop, coupon.customer_id, coupon.coupon_id)
        current = self.coupons.items.get(key)
        if current is not None and current.invalidated_by == job_id:
            return True
        if current is None or (current.status, current.order_id, current.locked_at) != (
            coupon.status,
            coupon.order_id,
            coupon.locked_at,
        ):
            return False
        self.coupons.items[key] = dataclasses.replace(
            current,
            status="invalidated",
            invalidated_by=job_id,
            order_id=None,
            locked_at=None,
            lock_expires_at=None,
        )
        return True

    def void_on_release(self, shop: str, coupon: Coupon, job_id: str) -> bool:
        key = (shop, coupon.customer_id, coupon.coupon_id)
        current = self.coupons.items.get(key)
        if current is None or current.status != "locked" or current.order_id != coupon.order_id:
            return current is not None and current.void_on_release == job_id
        self.coupons.items[key] = dataclasses.replace(current, void_on_release=job_id)
        return True

    def complete_page(self, shop: str, invalidation_id: str, page: str, voided: int, on_release: int) -> bool:
        if (shop, invalidation_id, page) in self.pages:
            return False
        self.pages.add((shop, invalidation_id, page))
        job = self.items[(shop, invalidation_id)]
        self.items[(shop, invalidation_id)] = dataclasses.replace(
            job, voided=job.voided + voided, voided_on_release=job.voided_on_release + on_release
        )
        return True

    def complete_segment(self, shop: str, invalidation_id: str, segment: int) -> Invalidation:
        job = self.items[(shop, invalidation_id)]
        job = dataclasses.replace(job, done_segments=job.done_segments | {str(segment)})
        self.items[(shop, invalidation_id)] = job
        return job

    def note_stock_returned(self, shop: str, invalidation_id: str, units: int) -> None:
        job = self.items[(shop, invalidation_id)]
        self.items[(shop, invalidation_id)] = dataclasses.replace(job, stock_returned=units)
