"""Share links, gifts, one-time links and exchange codes."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from chalicelib.coupons.store.records.common import (
    SKIPPED_PREFIX,
    _plain,
    _reasons,
)

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
    dead_chunks: frozenset[str] = frozenset()

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
            dead_chunks=frozenset(str(c) for c in item.get("dead_chunks") or ()),
        )

    def to_item(self) -> dict[str, Any]:
        item = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("skipped_by", "done_chunks", "dead_chunks")
        }
        item.update({SKIPPED_PREFIX + c: n for c, n in self.skipped_by.items()})
        if self.done_chunks:
            item["done_chunks"] = set(self.done_chunks)
        if self.dead_chunks:
            item["dead_chunks"] = set(self.dead_chunks)
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
