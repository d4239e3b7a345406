"""Bulk issue jobs, their chunk plans, and grants."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from chalicelib.coupons import domain
from chalicelib.coupons.store.records.common import (
    FAILED_PREFIX,
    SAMPLE_PREFIX,
    SKIPPED_PREFIX,
    _opt_int,
    _plain,
    _reasons,
)

# ---- bulk jobs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A bulk issue job: totals, counts and samples per reason code (stored top-level as
    ``skipped:<code>``, ``failed:<code>``, ``sample:<code>`` so ``ADD`` works on a job of any
    age), the chunks done (``done_chunks``) and those recorded as dead-lettered."""

    job_id: str
    template_id: str
    total: int
    chunk_total: int
    created_at: str = ""
    issued: int = 0
    skipped: int = 0
    failed: int = 0
    started: bool = False
    expires_at_epoch: int | None = None
    skipped_by: dict[str, int] = field(default_factory=dict)
    failed_by: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    done_chunks: frozenset[str] = frozenset()
    dead_chunks: frozenset[str] = frozenset()
    # A job for an audience segment: its members arrive in chunks; until the last one is
    # known (``members_pending``), ``chunk_total`` is not. ``segment_error``: the audience
    # service could not export the segment.
    segment_id: str | None = None
    members_pending: bool = False
    segment_error: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        return cls(
            job_id=str(item.get("job_id", "")),
            template_id=str(item.get("template_id", "")),
            total=int(item.get("total", 0)),
            chunk_total=int(item.get("chunk_total", 0)),
            created_at=str(item.get("created_at", "")),
            issued=int(item.get("issued", 0)),
            skipped=int(item.get("skipped", 0)),
            failed=int(item.get("failed", 0)),
            started=bool(item.get("started")),
            expires_at_epoch=_opt_int(item.get("expires_at_epoch")),
            skipped_by=_reasons(item, SKIPPED_PREFIX),
            failed_by=_reasons(item, FAILED_PREFIX),
            samples={
                k.removeprefix(SAMPLE_PREFIX): list(v) for k, v in item.items() if k.startswith(SAMPLE_PREFIX)
            },
            done_chunks=frozenset(str(c) for c in item.get("done_chunks") or ()),
            dead_chunks=frozenset(str(c) for c in item.get("dead_chunks") or ()),
            segment_id=item.get("segment_id"),
            members_pending=bool(item.get("members_pending")),
            segment_error=item.get("segment_error"),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "job_id": self.job_id,
            "template_id": self.template_id,
            "total": self.total,
            "chunk_total": self.chunk_total,
            "issued": self.issued,
            "skipped": self.skipped,
            "failed": self.failed,
            "created_at": self.created_at,
            "expires_at_epoch": self.expires_at_epoch,
        }
        if self.started:
            item["started"] = True
        if self.members_pending:
            item["members_pending"] = True
        item.update(segment_id=self.segment_id, segment_error=self.segment_error)
        item.update({SKIPPED_PREFIX + c: n for c, n in self.skipped_by.items()})
        item.update({FAILED_PREFIX + c: n for c, n in self.failed_by.items()})
        item.update({SAMPLE_PREFIX + c: list(ids) for c, ids in self.samples.items()})
        if self.done_chunks:
            item["done_chunks"] = set(self.done_chunks)
        if self.dead_chunks:
            item["dead_chunks"] = set(self.dead_chunks)
        return {k: v for k, v in item.items() if v is not None}

    def chunk_done(self, chunk: int) -> bool:
        """The chunk's real outcome is on the job (done, and not only recorded as dead-lettered)."""
        return str(chunk) in self.done_chunks and str(chunk) not in self.dead_chunks


Winner = tuple[int, str, int, int]  # (index in the job, customer, shard, slot)
BlockRef = tuple[int, int, int]  # (shard, first slot, count)


@dataclass(frozen=True)
class Plan:
    """A chunk's outcome, fixed before any of its coupons is written: who gets which unit
    (``winners``), who was counted but got none (``losers``, their counts given back), the
    stock blocks taken, and counts and samples by reason code."""

    winners: tuple[Winner, ...] = ()
    losers: tuple[str, ...] = ()
    blocks: tuple[BlockRef, ...] = ()
    skipped_by: dict[str, int] = field(default_factory=dict)
    failed_by: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Plan:
        winners = tuple((int(i), str(c), int(s), int(t)) for i, c, s, t in item.get("winners") or ())
        losers = tuple(str(c) for c in item.get("losers") or ())
        blocks = tuple((int(s), int(f), int(n)) for s, f, n in item.get("blocks") or ())
        if "skipped_by" in item:
            return cls(
                winners,
                losers,
                blocks,
                {k: int(v) for k, v in (item.get("skipped_by") or {}).items()},
                {k: int(v) for k, v in (item.get("failed_by") or {}).items()},
                {k: list(v) for k, v in (item.get("samples") or {}).items()},
            )
        # A plan fixed before reasons were recorded (a chunk retried across an upgrade).
        return cls(
            winners,
            losers,
            blocks,
            {domain.SKIPPED_LIMIT: int(item.get("skipped", 0)), domain.SKIPPED_SOLD_OUT: len(losers)},
            {domain.FAILED_NOT_ACTIVE: int(item.get("failed", 0))},
        )

    def to_item(self) -> dict[str, Any]:
        return {
            "winners": [list(w) for w in self.winners],
            "losers": list(self.losers),
            "blocks": [list(b) for b in self.blocks],
            "skipped_by": dict(self.skipped_by),
            "failed_by": dict(self.failed_by),
            "samples": {k: list(v) for k, v in self.samples.items()},
        }


# ---- grants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One per grant id: ``pending`` with the coupon id it will issue, then ``issued`` or
    ``failed`` with the reason."""

    grant_id: str
    template_id: str
    customer_id: str
    coupon_id: str
    status: str = "pending"
    reason: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Grant:
        return cls(
            grant_id=str(item["grant_id"]),
            template_id=str(item["template_id"]),
            customer_id=str(item["customer_id"]),
            coupon_id=str(item["coupon_id"]),
            status=str(item.get("status", "pending")),
            reason=item.get("reason"),
        )

    def to_item(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class Invalidation:
    """A job voiding a template's unused coupons, scanned in ``segments`` in parallel; counts
    added once per page (``done_pages``)."""

    invalidation_id: str
    template_id: str
    return_stock: bool
    segments: int
    created_at: str
    created_by: str
    voided: int = 0
    voided_on_release: int = 0
    stock_returned: int = 0
    done_segments: frozenset[str] = frozenset()

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Invalidation:
        return cls(
            invalidation_id=str(item["invalidation_id"]),
            template_id=str(item["template_id"]),
            return_stock=bool(item.get("return_stock", False)),
            segments=int(item.get("segments", 1)),
            created_at=str(item.get("created_at", "")),
            created_by=str(item.get("created_by", "")),
            voided=int(item.get("voided", 0)),
            voided_on_release=int(item.get("voided_on_release", 0)),
            stock_returned=int(item.get("stock_returned", 0)),
            done_segments=frozenset(str(c) for c in item.get("done_segments") or ()),
        )

    def to_item(self) -> dict[str, Any]:
        item = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "done_segments"}
        if self.done_segments:
            item["done_segments"] = set(self.done_segments)
        return item
