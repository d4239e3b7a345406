"""Typed records of the coupons table: frozen dataclasses, each with ``from_item`` (a plain
dict as stored; fields it does not know are ignored, missing ones take their defaults) and
``to_item`` (the stored attributes, without the key; ``None`` values are left out).

Stored names are unchanged. ``Plan.from_item`` also reads a plan fixed before reasons were
recorded (``skipped``/``failed`` totals instead of ``skipped_by``/``failed_by``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from chalicelib.coupons import domain

SKIPPED_PREFIX = "skipped:"
FAILED_PREFIX = "failed:"
SAMPLE_PREFIX = "sample:"


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _plain(record: Any) -> dict[str, Any]:
    """The dataclass's fields as a dict, ``None`` left out (shallow: no copies)."""
    return {f.name: v for f in fields(record) if (v := getattr(record, f.name)) is not None}


def _reasons(item: dict[str, Any], prefix: str) -> dict[str, int]:
    return {k.removeprefix(prefix): int(v) for k, v in item.items() if k.startswith(prefix)}


# ---- templates and stock -------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A coupon template's terms, the status the merchant set (``active``, ``paused``,
    ``ended``; ``domain.campaign``) and ``version``, raised by every change (an edit is
    conditional on the version it read). ``pending_adds``: stock an edit added that is not on
    every shard yet (edit id -> units per shard), finished by the next read that sees it."""

    template_id: str
    name: str
    kind: str
    total_stock: int
    shard_count: int
    created_at: str
    per_customer_limit: int = 1
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    lucky_total_amount: int | None = None
    min_spend_amount: int = 0
    valid_from: str | None = None
    valid_until: str | None = None
    valid_days: int | None = None
    product_ids: tuple[str, ...] | None = None
    currency: str = "CNY"
    status: str = "active"
    version: int = 0
    lock_ttl_seconds: int | None = None
    giftable: bool = False
    pending_adds: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Template:
        products = item.get("product_ids")
        return cls(
            template_id=str(item["template_id"]),
            name=str(item.get("name", "")),
            kind=str(item["kind"]),
            total_stock=int(item.get("total_stock", 0)),
            shard_count=int(item.get("shard_count", 1)),
            created_at=str(item.get("created_at", "")),
            per_customer_limit=int(item.get("per_customer_limit", 1)),
            amount_off=_opt_int(item.get("amount_off")),
            percent_off=_opt_int(item.get("percent_off")),
            max_discount_amount=_opt_int(item.get("max_discount_amount")),
            lucky_total_amount=_opt_int(item.get("lucky_total_amount")),
            min_spend_amount=int(item.get("min_spend_amount") or 0),
            valid_from=item.get("valid_from"),
            valid_until=item.get("valid_until"),
            valid_days=_opt_int(item.get("valid_days")),
            product_ids=tuple(products) if products is not None else None,
            currency=str(item.get("currency", "CNY")),
            status=str(item.get("status", "active")),
            version=int(item.get("version", 0)),
            lock_ttl_seconds=_opt_int(item.get("lock_ttl_seconds")),
            giftable=bool(item.get("giftable", False)),
            pending_adds={str(k): [int(n) for n in v] for k, v in (item.get("pending_adds") or {}).items()},
        )

    def to_item(self) -> dict[str, Any]:
        item = _plain(self)
        if self.product_ids is not None:
            item["product_ids"] = list(self.product_ids)
        if self.pending_adds:
            item["pending_adds"] = {k: list(v) for k, v in self.pending_adds.items()}
        else:
            item.pop("pending_adds")
        return item


@dataclass(frozen=True)
class Shard:
    """One stock shard: ``taken`` of ``cap`` units, ``redeemed`` of them, ``inflight``
    markers (blocks of claims, grants and bulk chunks; redemption counts), and ``halted``
    (``paused`` or ``ended``: no unit is taken) as of the template's ``halt_version``."""

    cap: int = 0
    taken: int = 0
    redeemed: int = 0
    inflight: dict[str, Any] = field(default_factory=dict)
    halted: str | None = None
    halt_version: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Shard:
        return cls(
            cap=int(item.get("cap", 0)),
            taken=int(item.get("taken", 0)),
            redeemed=int(item.get("redeemed", 0)),
            inflight=dict(item.get("inflight") or {}),
            halted=item.get("halted"),
            halt_version=int(item.get("halt_version", 0)),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "cap": self.cap,
            "taken": self.taken,
            "redeemed": self.redeemed,
            "inflight": dict(self.inflight),
        }
        if self.halted:
            item["halted"] = self.halted
            item["halt_version"] = self.halt_version
        return item

    def held_by(self, op: str) -> int:
        """Units of this shard that operation ``op`` holds (a block not finished yet)."""
        return int(self.inflight.get(f"{op}:c", 0))


@dataclass(frozen=True)
class Refused:
    """A stock shard that gave no block: the units it has left and its cap as stored, or the
    status that halts it (``paused``, ``ended``)."""

    left: int
    cap: int
    halted: str | None = None


@dataclass(frozen=True)
class Change:
    """One entry of a template's history: its version after the change, who, when, what
    (``created``, ``edited``, ``paused``, ``resumed``, ``ended``) and the fields changed."""

    version: int
    at: str
    actor: str
    action: str
    changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Change:
        return cls(
            version=int(item["version"]),
            at=str(item.get("at", "")),
            actor=str(item.get("actor", "")),
            action=str(item.get("action", "")),
            changes=dict(item.get("changes") or {}),
        )

    def to_item(self) -> dict[str, Any]:
        return {**_plain(self), "changes": dict(self.changes)}


# ---- coupons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    """A customer's coupon: the template's terms copied at issue, its state, and the paid
    orders that named it without redeeming it (``conflicts``, once per ``conflict_events``)."""

    coupon_id: str
    template_id: str
    customer_id: str
    kind: str
    status: str = "available"
    name: str = ""
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int = 0
    currency: str = "CNY"
    issued_at: str = ""
    expires_at: str | None = None
    shard: int = 0
    slot: int | None = None
    source: str | None = None
    expires_at_epoch: int | None = None
    order_id: str | None = None
    locked_at: str | None = None
    lock_expires_at: str | None = None
    lock_ttl_seconds: int | None = None
    redeemed_at: str | None = None
    count_pending: bool = False
    counted_by: str | None = None
    conflicts: tuple[dict[str, Any], ...] = ()
    conflict_events: frozenset[str] = frozenset()
    revoked_at: str | None = None
    revoke_reason: str | None = None
    share_link_id: str | None = None
    gift_expires_at: str | None = None
    gift: dict[str, Any] | None = None  # the gift it was given in or came from (domain.gifts)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Coupon:
        return cls(
            coupon_id=str(item["coupon_id"]),
            template_id=str(item.get("template_id", "")),
            customer_id=str(item.get("customer_id", "")),
            kind=str(item.get("kind", "amount_off")),
            status=str(item.get("status", "available")),
            name=str(item.get("name", "")),
            amount_off=_opt_int(item.get("amount_off")),
            percent_off=_opt_int(item.get("percent_off")),
            max_discount_amount=_opt_int(item.get("max_discount_amount")),
            min_spend_amount=int(item.get("min_spend_amount") or 0),
            currency=str(item.get("currency", "CNY")),
            issued_at=str(item.get("issued_at", "")),
            expires_at=item.get("expires_at"),
            shard=int(item.get("shard", 0)),
            slot=_opt_int(item.get("slot")),
            source=item.get("source"),
            expires_at_epoch=_opt_int(item.get("expires_at_epoch")),
            order_id=item.get("order_id"),
            locked_at=item.get("locked_at"),
            lock_expires_at=item.get("lock_expires_at"),
            lock_ttl_seconds=_opt_int(item.get("lock_ttl_seconds")),
            redeemed_at=item.get("redeemed_at"),
            count_pending=bool(item.get("count_pending")),
            counted_by=item.get("counted_by"),
            conflicts=tuple(item.get("conflicts") or ()),
            conflict_events=frozenset(item.get("conflict_events") or ()),
            revoked_at=item.get("revoked_at"),
            revoke_reason=item.get("revoke_reason"),
            share_link_id=item.get("share_link_id"),
            gift_expires_at=item.get("gift_expires_at"),
            gift=dict(item["gift"]) if item.get("gift") else None,
        )

    def to_item(self) -> dict[str, Any]:
        item = _plain(self)
        if not self.count_pending:
            item.pop("count_pending")
        if self.conflicts:
            item["conflicts"] = [dict(c) for c in self.conflicts]
        else:
            item.pop("conflicts")
        if self.conflict_events:
            item["conflict_events"] = set(self.conflict_events)
        else:
            item.pop("conflict_events")
        return item


# ---- share links ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareLink:
    """A template shared into a channel (a WeChat group, 1:1 chats, Moments...) by the
    merchant or by a customer (``sharer_id``)."""

    link_id: str
    template_id: str
    channel: str
    created_at: str
    created_by: str
    sharer_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ShareLink:
        return cls(
            link_id=str(item["link_id"]),
            template_id=str(item["template_id"]),
            channel=str(item.get("channel", "")),
            created_at=str(item.get("created_at", "")),
            created_by=str(item.get("created_by", "")),
            sharer_id=item.get("sharer_id"),
        )

    def to_item(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class LinkTally:
    """What a share link brought: coupons claimed through it, their redemptions, the GMV of
    the orders that redeemed them and the discount those orders got."""

    claims: int = 0
    redemptions: int = 0
    redeemed_gmv_amount: int = 0
    discount_amount: int = 0


# ---- gifts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gift:
    """A coupon offered by ``giver`` to whoever accepts first: ``open``, then ``accepted`` (by
    ``receiver``, who gets ``new_coupon_id``) or ``cancelled``."""

    gift_id: str
    coupon_id: str
    giver: str
    template_id: str
    created_at: str
    expires_at: str
    new_coupon_id: str
    status: str = "open"
    receiver: str | None = None
    accepted_at: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Gift:
        return cls(
            gift_id=str(item["gift_id"]),
            coupon_id=str(item["coupon_id"]),
            giver=str(item["giver"]),
            template_id=str(item.get("template_id", "")),
            created_at=str(item.get("created_at", "")),
            expires_at=str(item.get("expires_at", "")),
            new_coupon_id=str(item.get("new_coupon_id", "")),
            status=str(item.get("status", "open")),
            receiver=item.get("receiver"),
            accepted_at=item.get("accepted_at"),
        )

    def to_item(self) -> dict[str, Any]:
        return _plain(self)


# ---- one-time links and exchange codes -------------------------------------------------------


@dataclass(frozen=True)
class CodeBatch:
    """A batch of one-time claim links (``kind`` ``link``) or exchange codes (``exchange``),
    generated from ``seed`` (hex; secret, never shown) or imported; its progress by chunk."""

    batch_id: str
    template_id: str
    kind: str
    source: str
    requested: int
    chunk_total: int
    seed: str
    created_at: str
    created_by: str
    written: int = 0
    started: bool = False
    skipped_by: dict[str, int] = field(default_factory=dict)
    done_chunks: frozenset[str] = frozenset()

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CodeBatch:
        return cls(
            batch_id=str(item["batch_id"]),
            template_id=str(item["template_id"]),
            kind=str(item["kind"]),
            source=str(item.get("source", "generated")),
            requested=int(item.get("requested", 0)),
            chunk_total=int(item.get("chunk_total", 0)),
            seed=str(item.get("seed", "")),
            created_at=str(item.get("created_at", "")),
            created_by=str(item.get("created_by", "")),
            written=int(item.get("written", 0)),
            started=bool(item.get("started")),
            skipped_by=_reasons(item, SKIPPED_PREFIX),
            done_chunks=frozenset(str(c) for c in item.get("done_chunks") or ()),
        )

    def to_item(self) -> dict[str, Any]:
        item = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("skipped_by", "done_chunks")
        }
        item.update({SKIPPED_PREFIX + c: n for c, n in self.skipped_by.items()})
        if self.done_chunks:
            item["done_chunks"] = set(self.done_chunks)
        return item


@dataclass(frozen=True)
class Code:
    """One link or code: the unit of stock it holds, and who claimed it (once)."""

    batch_id: str
    index: int
    template_id: str
    shard: int
    slot: int
    mac: str | None = None  # links
    code: str | None = None  # exchange codes
    customer_id: str | None = None
    coupon_id: str | None = None
    claimed_at: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Code:
        return cls(
            batch_id=str(item["batch_id"]),
            index=int(item["index"]),
            template_id=str(item["template_id"]),
            shard=int(item.get("shard", 0)),
            slot=int(item.get("slot", 0)),
            mac=item.get("mac"),
            code=item.get("code"),
            customer_id=item.get("customer_id"),
            coupon_id=item.get("coupon_id"),
            claimed_at=item.get("claimed_at"),
        )

    def to_item(self) -> dict[str, Any]:
        return _plain(self)


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
