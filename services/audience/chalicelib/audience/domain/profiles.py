"""A customer's profile, derived from the state of each of their orders.

The profile is a pure function of the set of order states, and each order state is built from
the messages about that order in a way that does not depend on their order of arrival:

- ``order.paid`` sets the order's time, amount and touch (referral code, distributor code) once;
  a second ``order.paid`` of the same order (a duplicate) changes nothing.
- ``order.cancelled`` marks the order cancelled; a cancelled order never counts, whichever of
  its paid and cancelled messages came first.
- ``order.refunded`` adds its refund by ``refund_id`` (a repeated refund id changes nothing); a
  refund that arrives before its payment is kept and counts once the payment arrives. An
  order's refunds count at most up to what it paid.
- ``coupon.redeemed`` adds the coupon's template, share link and grant to the order, whichever
  comes first (it is joined by ``order_id``).

So duplicated and reordered messages leave the same profile, and the report counters, which
are a function of the profile (``contribution``), stay exact when updated by differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

Channel = Literal["referral", "distribution", "coupon_share", "direct"]

DAY = 86_400
REPURCHASE_WINDOWS = (30, 60, 90)


@dataclass(frozen=True)
class Touch:
    """What brought an order: a referral code, a distributor code or a coupon share link."""

    referral_code: str | None = None
    distributor_code: str | None = None
    share_link_id: str | None = None

    @property
    def channel(self) -> Channel:
        if self.referral_code:
            return "referral"
        if self.distributor_code:
            return "distribution"
        if self.share_link_id:
            return "coupon_share"
        return "direct"


@dataclass(frozen=True)
class OrderState:
    """One order as the messages about it left it (see the module docstring)."""

    order_id: str
    paid_at: int | None = None  # epoch seconds of the order.paid's occurred_at
    paid_amount: int | None = None
    cancelled: bool = False
    refunds: dict[str, int] = field(default_factory=dict)
    referral_code: str | None = None
    distributor_code: str | None = None
    coupon_template_id: str | None = None
    share_link_id: str | None = None
    grant_id: str | None = None
    discount_amount: int = 0

    @property
    def counts(self) -> bool:
        return self.paid_at is not None and self.paid_amount is not None and not self.cancelled

    @property
    def refunded(self) -> int:
        return min(sum(self.refunds.values()), self.paid_amount or 0)

    @property
    def touch(self) -> Touch:
        return Touch(self.referral_code, self.distributor_code, self.share_link_id)


# ---- applying messages (each returns None when the message changes nothing) ------------


def apply_paid(
    order: OrderState, *, paid_at: int, amount: int, referral_code: str | None, distributor_code: str | None
) -> OrderState | None:
    if order.paid_at is not None:
        return None
    return replace(
        order,
        paid_at=paid_at,
        paid_amount=amount,
        referral_code=referral_code,
        distributor_code=distributor_code,
    )


def apply_cancelled(order: OrderState) -> OrderState | None:
    return None if order.cancelled else replace(order, cancelled=True)


def apply_refund(order: OrderState, refund_id: str, amount: int) -> OrderState | None:
    if refund_id in order.refunds:
        return None
    return replace(order, refunds={**order.refunds, refund_id: amount})


def apply_redeemed(
    order: OrderState, *, template_id: str, share_link_id: str | None, grant_id: str | None, discount: int
) -> OrderState | None:
    if order.coupon_template_id is not None:
        return None
    return replace(
        order,
        coupon_template_id=template_id,
        share_link_id=share_link_id,
        grant_id=grant_id,
        discount_amount=discount,
    )


# ---- the profile -----------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    customer_id: str
    orders_count: int = 0
    first_order_at: int | None = None
    second_order_at: int | None = None
    last_order_at: int | None = None
    paid_total_amount: int = 0
    refunded_total_amount: int = 0
    first_touch: Touch | None = None
    last_touch: Touch | None = None
    first_coupon_template_id: str | None = None
    tags: frozenset[str] = frozenset()

    @property
    def gmv_amount(self) -> int:
        return self.paid_total_amount - self.refunded_total_amount


def derive(customer_id: str, orders: dict[str, OrderState], tags: frozenset[str] = frozenset()) -> Profile:
    """The profile of the orders that count (paid, not cancelled), ordered by (time, order id)."""
    counted = sorted((o for o in orders.values() if o.counts), key=lambda o: (o.paid_at, o.order_id))
    if not counted:
        return Profile(customer_id=customer_id, tags=tags)
    first, last = counted[0], counted[-1]
    return Profile(
        customer_id=customer_id,
        orders_count=len(counted),
        first_order_at=first.paid_at,
        second_order_at=counted[1].paid_at if len(counted) > 1 else None,
        last_order_at=last.paid_at,
        paid_total_amount=sum(o.paid_amount or 0 for o in counted),
        refunded_total_amount=sum(o.refunded for o in counted),
        first_touch=first.touch,
        last_touch=last.touch,
        first_coupon_template_id=first.coupon_template_id,
        tags=tags,
    )


def day_of(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
