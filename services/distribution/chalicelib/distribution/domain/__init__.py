"""Distribution rules, attribution and commission arithmetic. Pure: no boto3, no HTTP.

Money is integer minor units and rates are basis points (``campaign_shared.money``).
Rounding, written down once:

- **Accrual** of a line for a tier is ``floor(paid_amount * rate_bps / 10000)``, per line
  (never on an order total), so tier 1 + tier 2 of a line never exceed
  ``floor(paid_amount * (rate_1 + rate_2) / 10000)``.
- **Refunds** reverse in proportion to the *cumulative* refunded amount of a line, capped at
  its ``paid_amount``: after refunds totalling ``R`` the reversed part of an accrual ``A`` of
  a line that paid ``P`` is ``floor(A * min(R, P) / P)``; each refund's entry is the increase
  of that figure. So a full refund reverses exactly ``A`` (the last refund takes the
  remainder) and no refund ever makes a commission negative.
- **Settlement** moves what is left of each accrual (``A`` less the refunds before
  settlement) from ``pending`` to ``available``; a refund after settlement is a clawback of
  ``available`` (which may go negative), computed by the same cumulative formula.

Tiers: tier 1 is the owner of the code, tier 2 the distributor who invited them. There is
no third tier. A line only earns tier 2 when it earns tier 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from campaign_shared import money
from chalicelib.distribution.domain import levels as levels_rules
from chalicelib.distribution.domain.levels import Level
from chalicelib.distribution.domain.values import (
    PAID,
    POST,
    PRE,
    UNATTRIBUTED,
    UNPAID,
    Commission,
    Entry,
    Group,
    Member,
    Order,
    PaidLine,
    PricedLine,
    Refund,
    RefundAnomalies,
)

__all__ = [
    "PAID",
    "POST",
    "PRE",
    "UNATTRIBUTED",
    "UNPAID",
    "Commission",
    "Entry",
    "Group",
    "Level",
    "Member",
    "Order",
    "PaidLine",
    "PricedLine",
    "Refund",
    "RefundAnomalies",
]

MAX_BPS = money.BPS
TIERS = (1, 2)

# Why an order earned nothing (counted per shop).
UNKNOWN_CODE = "unknown_code"
INACTIVE_CODE = "inactive_code"
SELF_PURCHASE = "self_purchase"
CURRENCY_MISMATCH = "currency_mismatch"
NO_COMMISSION = "no_commission"
REASONS = (UNKNOWN_CODE, INACTIVE_CODE, SELF_PURCHASE, CURRENCY_MISMATCH, NO_COMMISSION)


@dataclass(frozen=True)
class Rules:
    default_rate_bps: int = 0
    parent_rate_bps: int = 0
    product_rates_bps: dict[str, int] = field(default_factory=dict)
    settle_after_days: int = 7
    auto_approve: bool = False
    self_purchase_commission: bool = False
    currency: str = "CNY"
    min_withdrawal_amount: int = 1
    binding_days: int | None = None  # customer binding: None off, 0 permanent (domain.binding)
    binding_policy: str = "first_touch"

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Rules:
        if not data:
            return cls()
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def tier1_bps(self, product_id: str) -> int:
        return self.product_rates_bps.get(product_id, self.default_rate_bps)


def rules_problem(
    default_rate_bps: int, parent_rate_bps: int, product_rates_bps: dict[str, int]
) -> str | None:
    """Why a set of rates is refused (400), or None. Rates themselves are 0..10000 bps."""
    tier1_rates = [default_rate_bps, *product_rates_bps.values()]
    if parent_rate_bps > 0 and max(tier1_rates) == 0:
        return "parent_rate_bps needs a tier-1 rate: set default_rate_bps or a product rate"
    worst = max(tier1_rates) + parent_rate_bps
    if worst > MAX_BPS:
        return f"a tier-1 rate plus parent_rate_bps may not exceed {MAX_BPS} bps (got {worst})"
    return None


def line_rates(rules: Rules, product_id: str, has_parent: bool) -> tuple[int, int]:
    """(tier-1 bps, tier-2 bps) for a line; tier 2 only where tier 1 earns and a parent exists."""
    tier1 = rules.tier1_bps(product_id)
    tier2 = rules.parent_rate_bps if has_parent and tier1 > 0 else 0
    return tier1, tier2


def accrual(paid_amount: int, bps: int) -> int:
    """floor(paid_amount * bps / 10000), per line."""
    return money.apply_bps(paid_amount, bps)


def reversed_part(accrued: int, refunded: int, paid: int) -> int:
    """The part of ``accrued`` that refunds totalling ``refunded`` take back (floor, capped)."""
    if paid <= 0 or accrued <= 0:
        return 0
    return money.proportional(accrued, min(max(refunded, 0), paid), paid)


# ---- attribution ---------------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    """Who earns on an order: ``reason`` is set when nobody does."""

    reason: str | None
    tier1: str | None = None
    tier2: str | None = None


def attribute(
    *,
    rules: Rules,
    customer_id: str,
    currency: str,
    owner: Member | None,
    parent: Member | None,
) -> Attribution:
    """Decide attribution from the code's owner and the owner's parent (None when unknown)."""
    if owner is None:
        return Attribution(UNKNOWN_CODE)
    if owner.status != "approved":
        return Attribution(INACTIVE_CODE)
    if currency != rules.currency:
        return Attribution(CURRENCY_MISMATCH)
    tier1 = owner.distributor_id
    if customer_id == tier1 and not rules.self_purchase_commission:
        return Attribution(SELF_PURCHASE)
    tier2 = None
    if parent is not None and parent.status == "approved":
        tier2 = parent.distributor_id
        if customer_id == tier2 and not rules.self_purchase_commission:
            tier2 = None
    return Attribution(None, tier1, tier2)


def priced_lines(
    rules: Rules, lines: Sequence[PaidLine], has_parent: bool, level: Level | None = None
) -> tuple[PricedLine, ...]:
    """Order lines with their rates and accruals, in event order. ``level``: the seller's level
    in force when the order was paid (``domain.levels.tier1_rate``; tier 2 is unchanged)."""
    priced = []
    for line in lines:
        r1, r2 = line_rates(rules, line.product_id, has_parent)
        r1 = levels_rules.tier1_rate(r1, r2, level)
        paid = line.paid_amount
        priced.append(
            PricedLine(
                line_id=line.line_id,
                product_id=line.product_id,
                paid_amount=paid,
                tier1_rate_bps=r1,
                tier2_rate_bps=r2,
                tier1_accrual=accrual(paid, r1),
                tier2_accrual=accrual(paid, r2),
                level=level.level_id if level is not None else None,
            )
        )
    return tuple(priced)


def paid_at(occurred_at: datetime, now: datetime) -> datetime:
    """The business time of a payment; a payment cannot be in the future."""
    return min(occurred_at, now)


def settle_due(paid: datetime, rules: Rules) -> datetime:
    return paid + timedelta(days=rules.settle_after_days)


# A settlement's ``as_of`` may be this far ahead of the server's clock (a merchant's clock
# running slightly fast); it is then settled as of now. Anything later is refused: settling
# "as of next week" would make commissions available before their refund hold is over, and a
# refund in that week would then claw back money that may already be withdrawn.
AS_OF_SKEW = timedelta(seconds=5)


def settlement_as_of(as_of: datetime | None, now: datetime) -> datetime:
    """The time a settlement runs as of: ``as_of`` (default now), never later than now.
    Raises ``ValueError`` when ``as_of`` is more than ``AS_OF_SKEW`` in the future."""
    if as_of is None:
        return now
    if as_of > now + AS_OF_SKEW:
        raise ValueError(
            f"as_of may not be in the future (more than {int(AS_OF_SKEW.total_seconds())} s after now)"
        )
    return min(as_of, now)


# ---- distributor status ------------------------------------------------------------------

# Why a distributor may not withdraw, by status: (409 error code, message). Approved
# distributors may; a suspended one keeps their balance but cannot take it out until approved
# again, and a pending one was never approved.
WITHDRAWAL_REFUSALS = {
    "suspended": ("distributor_suspended", "a suspended distributor cannot withdraw"),
    "pending": ("distributor_not_approved", "a distributor awaiting approval cannot withdraw"),
}


def withdrawal_refusal(status: str | None) -> tuple[str, str] | None:
    """(code, message) when a distributor of this status may not withdraw, else None."""
    if status == "approved":
        return None
    return WITHDRAWAL_REFUSALS.get(
        status or "", ("distributor_not_approved", "only approved distributors can withdraw")
    )


# ---- balances ------------------------------------------------------------------------

BUCKETS = ("pending", "available", "withdrawn", "earned", "reserved")


def entry_deltas(entry: Entry) -> dict[str, int]:
    return {
        "pending": entry.pending,
        "available": entry.available,
        "withdrawn": entry.withdrawn,
        "earned": entry.earned,
        "reserved": entry.reserved,
    }


def add_entries(balance: Mapping[str, int], entries: Iterable[Entry]) -> dict[str, int]:
    """A balance (the five buckets) plus the deltas of ``entries``."""
    out = {bucket: int(balance.get(bucket, 0)) for bucket in BUCKETS}
    for entry in entries:
        for bucket, delta in entry_deltas(entry).items():
            out[bucket] += delta
    return out


def sum_entries(entries: Iterable[Entry]) -> dict[str, int]:
    return add_entries({}, entries)


def rank_key(earned: int, distributor_id: str) -> str:
    """Sort key of the leaderboard index: earned amount (zero-padded), then the id."""
    return f"{max(earned, 0):016d}#{distributor_id}"
