"""A template, its stock shards, a refused take, a change in its history; the shop's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.coupons.store.records.common import (
    _opt_int,
    _plain,
)

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
    return_on_refund: bool = False
    budget_amount: int | None = None
    invalidated_count: int = 0
    returns: frozenset[str] = frozenset()  # invalidations whose outcome is on the template
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
            return_on_refund=bool(item.get("return_on_refund", False)),
            budget_amount=_opt_int(item.get("budget_amount")),
            invalidated_count=int(item.get("invalidated_count", 0)),
            returns=frozenset(str(k) for k in (item.get("returns") or {})),
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
        item.pop("returns")
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
    discount_total: int = 0
    gmv_total: int = 0
    returned: int = 0
    returned_discount: int = 0
    returned_gmv: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Shard:
        return cls(
            cap=int(item.get("cap", 0)),
            taken=int(item.get("taken", 0)),
            redeemed=int(item.get("redeemed", 0)),
            inflight=dict(item.get("inflight") or {}),
            halted=item.get("halted"),
            halt_version=int(item.get("halt_version", 0)),
            discount_total=int(item.get("discount_total", 0)),
            gmv_total=int(item.get("gmv_total", 0)),
            returned=int(item.get("returned", 0)),
            returned_discount=int(item.get("returned_discount", 0)),
            returned_gmv=int(item.get("returned_gmv", 0)),
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


@dataclass(frozen=True)
class Budget:
    """A template's discount budget: ``used`` (held by locks and taken by redemptions) and the
    holds by coupon (the amount, and when the lock holding it lapses)."""

    used: int = 0
    holds: dict[str, int] = field(default_factory=dict)
    hold_until: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Budget:
        return cls(
            used=int(item.get("used", 0)),
            holds={str(k): int(v) for k, v in (item.get("holds") or {}).items()},
            hold_until={str(k): str(v) for k, v in (item.get("hold_until") or {}).items()},
        )


# ---- the shop's settings -------------------------------------------------------------------


@dataclass(frozen=True)
class ShopSettings:
    """What a shop sets for all its templates; a template's own setting wins.
    ``lock_ttl_seconds``: how long a lock holds (``None``: the default)."""

    lock_ttl_seconds: int | None = None
    updated_at: str | None = None
    updated_by: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ShopSettings:
        return cls(
            lock_ttl_seconds=_opt_int(item.get("lock_ttl_seconds")),
            updated_at=item.get("updated_at"),
            updated_by=item.get("updated_by"),
        )

    def to_item(self) -> dict[str, Any]:
        return _plain(self)
