"""A customer's referral state, pure: the program, the order tallies, the binding and the
funnel counters an attributed customer contributes to their code (see ``referrals``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from campaign_shared import clock
from chalicelib.referral.domain.codes import CustomerKind
from chalicelib.referral.domain.counters import Counters


@dataclass(frozen=True)
class Program:
    referrer_template_id: str
    referee_template_id: str
    min_order_amount: int = 0
    max_rewards_per_referrer: int | None = None
    reward_hold_days: int = 0


# ---- customer state -------------------------------------------------------------------


@dataclass(frozen=True)
class OrderTally:
    """What is known of one order: its payment (once seen) and its refunds by id."""

    paid_amount: int | None = None
    occurred_at: str | None = None
    refunds: Mapping[str, int] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.paid_amount is not None

    @property
    def fully_refunded(self) -> bool:
        """Paid, and refunds cover the whole paid amount."""
        if self.paid_amount is None or not self.refunds:
            return False
        return sum(self.refunds.values()) >= self.paid_amount

    @property
    def contribution(self) -> int:
        """The order's net amount: paid less refunds, floored at 0; 0 until paid is seen."""
        if self.paid_amount is None:
            return 0
        return max(0, self.paid_amount - sum(self.refunds.values()))


@dataclass(frozen=True)
class VoidedBinding:
    """A signup undone because an order that occurred before it showed up later."""

    code: str
    referrer_kind: CustomerKind
    referrer_id: str
    bound_at: str
    voided_at: str
    order_id: str


@dataclass(frozen=True)
class Buyer:
    customer_id: str
    version: int = 0  # 0: never stored
    bound_code: str | None = None
    bound_at: str | None = None
    referrer_kind: CustomerKind | None = None
    referrer_id: str | None = None
    attributed_code: str | None = None
    orders: Mapping[str, OrderTally] = field(default_factory=dict)
    converted_at: str | None = None
    conversion_order_id: str | None = None
    voided: VoidedBinding | None = None

    @property
    def paid_orders(self) -> int:
        return sum(1 for tally in self.orders.values() if tally.paid)

    @property
    def net_amount(self) -> int:
        return sum(tally.contribution for tally in self.orders.values())

    @property
    def earliest_paid_at(self) -> str | None:
        times = [t.occurred_at for t in self.orders.values() if t.paid and t.occurred_at]
        return min(times, key=clock.parse) if times else None

    @property
    def has_ordered(self) -> bool:
        """Any order seen (paid, or refunded: a refund implies a payment)."""
        return bool(self.orders)


# ---- funnel contribution -----------------------------------------------------------------


def contribution(buyer: Buyer) -> tuple[str | None, Counters]:
    """The counters an attributed customer adds to their code (none when unattributed)."""
    if buyer.attributed_code is None:
        return None, Counters()
    paid = buyer.paid_orders
    return buyer.attributed_code, Counters(
        first_orders=int(paid >= 1), repeat_customers=int(paid >= 2), gmv_amount=buyer.net_amount
    )


def funnel_delta(before: Buyer, after: Buyer) -> dict[str, Counters]:
    """How each code's counters change when a customer goes from ``before`` to ``after``."""
    deltas: dict[str, Counters] = {}
    code, counters = contribution(before)
    if code is not None:
        deltas[code] = -counters
    code, counters = contribution(after)
    if code is not None:
        deltas[code] = deltas.get(code, Counters()) + counters
    return {c: d for c, d in deltas.items() if d.nonzero()}
