"""The values the rules work on: an order's facts (priced lines, refunds), the ledger entries
and groups they imply, and the commission rows distributors see. Plain frozen dataclasses;
how they are stored is ``store.records``'s business."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

UNPAID, PAID, UNATTRIBUTED = "unpaid", "paid", "unattributed"
PRE, POST = "pre", "post"  # a refund's phase: before or after the order's settlement

Tier = Literal[1, 2]


@dataclass(frozen=True)
class Member:
    """A distributor as attribution sees it."""

    distributor_id: str
    status: str | None


@dataclass(frozen=True)
class PaidLine:
    """An order line as the payment reports it."""

    line_id: str
    product_id: str
    paid_amount: int


@dataclass(frozen=True)
class PricedLine:
    """A paid line with the rates and accruals of both tiers (accruals are floored per line)."""

    line_id: str
    product_id: str
    paid_amount: int
    tier1_rate_bps: int
    tier2_rate_bps: int
    tier1_accrual: int
    tier2_accrual: int
    level: str | None = None  # the seller's level in force when paid (it set tier1_rate_bps)

    def rate_bps(self, tier: int) -> int:
        return self.tier1_rate_bps if tier == 1 else self.tier2_rate_bps

    def accrual(self, tier: int) -> int:
        return self.tier1_accrual if tier == 1 else self.tier2_accrual


@dataclass(frozen=True)
class Refund:
    """A refund recorded on an order: its sequence number, time, amounts per line, and whether
    it came before or after settlement (``None`` while the order is not paid)."""

    seq: int
    at: str
    lines: dict[str, int]
    phase: str | None = None


@dataclass(frozen=True)
class Order:
    """An order's accepted facts, ``version``ed (0: nothing recorded yet)."""

    shop: str
    order_id: str
    version: int = 0
    state: str = UNPAID
    reason: str | None = None
    customer_id: str | None = None
    currency: str | None = None
    code: str | None = None
    tier1: str | None = None
    tier2: str | None = None
    paid_at: str | None = None
    settle_due_at: str | None = None
    settled_at: str | None = None
    lines: tuple[PricedLine, ...] = ()
    refunds: dict[str, Refund] = field(default_factory=dict)

    def distributor(self, tier: int) -> str | None:
        return self.tier1 if tier == 1 else self.tier2


@dataclass(frozen=True)
class Entry:
    """A ledger entry: ``amount`` (never negative) and its deltas to the five buckets
    (``reserved`` holds withdrawals requested and not yet paid or returned)."""

    entry_id: str
    kind: str
    at: str
    currency: str
    amount: int
    pending: int = 0
    available: int = 0
    withdrawn: int = 0
    earned: int = 0
    reserved: int = 0
    order_id: str | None = None
    line_id: str | None = None
    tier: int | None = None
    refund_id: str | None = None
    withdrawal_id: str | None = None
    # Accruals only: the line's paid amount, its buyer, the rate applied and the seller's level
    # in force when paid (tier 1), for the performance reports and the level audit.
    paid_amount: int | None = None
    customer_id: str | None = None
    rate_bps: int | None = None
    level: str | None = None


@dataclass(frozen=True)
class Group:
    """The entries one cause (``key``: ``acc#t1``, ``ref#<refund>#t2``...) means for one distributor."""

    key: str
    distributor_id: str
    tier: int
    at: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Commission:
    """One line and tier of an order as the distributor sees it (``me/commissions``)."""

    distributor_id: str
    order_id: str
    line_id: str
    product_id: str
    tier: int
    rate_bps: int
    paid_amount: int
    accrued_amount: int
    reversed_amount: int
    clawback_amount: int
    amount: int
    status: str
    currency: str
    created_at: str
    settled_at: str | None = None


@dataclass(frozen=True)
class RefundAnomalies:
    unknown_lines: list[str]
    capped_amount: int
