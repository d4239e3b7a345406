"""A customer's coupons: the coupon, its conflicts and gift, carts, validate, lock."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from campaign_shared.types import Amount, Id, In, Out, Quantity
from chalicelib.coupons.models.common import (
    CouponStatus,
    Kind,
)

# ---- coupons -----------------------------------------------------------------------------


class CouponConflict(Out):
    """An ``order.paid`` that named this coupon but could not redeem it."""

    order_id: str = Field(description="The paid order that named the coupon.")
    reason: Literal[
        "locked_to_another_order", "already_redeemed", "expired", "not_available", "budget_exhausted"
    ] = Field(
        description="locked_to_another_order: the coupon is locked to the order in ``order_id`` of the "
        "coupon; already_redeemed: another order redeemed it; expired: it had expired when the order "
        "was paid; not_available: it was revoked, given away, or being given; budget_exhausted: paid "
        "without a lock when the template's discount budget was used up"
    )
    event_id: str = Field(description="The order event; a redelivered event is recorded once.")
    at: str = Field(description="When the conflict was recorded.")


class CouponOut(Out):
    coupon_id: str
    template_id: str
    customer_id: str
    name: str
    status: CouponStatus
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str
    issued_at: str
    expires_at: str | None = None
    order_id: str | None = None
    conflicts: list[CouponConflict] = Field(
        default_factory=list,
        description="Paid orders that named this coupon but did not redeem it (oldest first, at most 20).",
    )
    gift: CouponGift | None = Field(
        default=None, description="The gift it was given in, or came from; both customers see it."
    )


class CouponGift(Out):
    """The gift a coupon was given in (the giver's) or came from (the friend's)."""

    gift_id: str
    status: Literal["open", "accepted", "cancelled"]
    from_customer_id: str
    to_customer_id: str | None = None
    created_at: str
    expires_at: str
    accepted_at: str | None = None


class CouponPage(Out):
    items: list[CouponOut]
    next_cursor: str | None = None


class CartLine(In):
    product_id: Id
    quantity: Quantity
    unit_amount: Amount


class ValidateIn(In):
    coupon_id: Id
    lines: Annotated[list[CartLine], Field(min_length=1, max_length=500)]
    order_id: Id | None = Field(default=None, description="An order the coupon is locked to, if any.")


class ValidateOut(Out):
    coupon_id: str
    valid: bool
    discount_amount: int
    reason: str | None = Field(
        default=None, description="not_available, expired, out_of_scope or below_min_spend when not valid"
    )
    eligible_subtotal_amount: int


class ForCartIn(In):
    lines: Annotated[list[CartLine], Field(min_length=1, max_length=500)]
    order_id: Id | None = Field(
        default=None, description="The order being checked out: a coupon locked to it is usable."
    )


class CartCoupon(Out):
    coupon: CouponOut
    discount_amount: int = Field(description="What the coupon takes off this cart (0 when unusable).")
    eligible_subtotal_amount: int
    reason: str | None = Field(
        default=None,
        description="Why it does not apply: not_available, expired, out_of_scope or below_min_spend.",
    )


class ForCartOut(Out):
    usable: list[CartCoupon] = Field(
        description="Coupons that apply, best first: the largest discount, then the soonest expiry."
    )
    unusable: list[CartCoupon] = Field(
        description="The caller's other unspent coupons (not redeemed, not revoked), each with its reason."
    )


class LockIn(In):
    order_id: Id
