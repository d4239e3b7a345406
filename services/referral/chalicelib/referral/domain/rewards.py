"""Referral rewards, pure: which rewards a conversion earns, when they may be granted, and
when they must be taken back. No boto3, no HTTP.

**Reward statuses** (``GET /referral/me``):

- ``held``: waiting out the converting order's refund window (the program's
  ``reward_hold_days`` after the order was paid); released to ``pending`` by a scheduled sweep.
- ``pending``: a ``coupon.grant`` was sent, no answer yet. ``issued`` (with ``coupon_id``) or
  ``failed`` (with ``reason``) once the coupons service answered.
- ``capped``: the referrer already reached ``max_rewards_per_referrer``; nothing is granted.
- ``cancelled``: a held reward that will never be granted (``reason``:
  ``converting_order_refunded``, or ``not_new_customer`` when the referral turned out void).
- ``revoking``: the converting order was fully refunded (or the referral voided) after the
  coupon was issued; a ``coupon.revoke`` was sent. Then ``revoked``, or ``revoke_failed`` with
  ``reason`` ``coupon_used`` (the coupon was already locked or redeemed: it stays with the
  customer).

With ``reward_hold_days = 0`` (the default) rewards are granted at once, as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from campaign_shared import clock
from chalicelib.referral.domain.buyers import Buyer

Side = Literal["referrer", "referee"]
PlanStatus = Literal["pending", "capped", "held", "cancelled"]

# Why rewards are taken back.
CONVERTING_ORDER_REFUNDED = "converting_order_refunded"
NOT_NEW_CUSTOMER = "not_new_customer"
CAP_REACHED = "max_rewards_per_referrer reached"


@dataclass(frozen=True)
class RewardPlan:
    side: Side
    customer_id: str
    template_id: str
    grant_id: str
    status: PlanStatus
    reason: str | None = None
    release_at: str | None = None  # held rewards: when the refund window is over


def grant_id(shop: str, referee_id: str, side: Side) -> str:
    """One grant id per (referral, side): a redelivered conversion sends the same id."""
    digest = hashlib.sha256(f"referral\x00{shop}\x00{referee_id}\x00{side}".encode()).hexdigest()
    return f"rf-{digest[:40]}"


def release_at(paid_at: str, now: str, hold_days: int) -> str:
    """The end of the converting order's refund window: ``hold_days`` after it was paid (a
    payment time in the future counts as now)."""
    paid = min(clock.parse(paid_at), clock.parse(now))
    return clock.iso(paid + timedelta(days=hold_days))


def plan_rewards(
    shop: str,
    *,
    referee_id: str,
    referrer_id: str | None,
    referee_template_id: str,
    referrer_template_id: str,
    cap: int | None,
    granted: int,
    hold_days: int,
    paid_at: str,
    refunded: bool,
    now: str,
) -> tuple[tuple[RewardPlan, ...], dict[str, int]]:
    """The rewards of a conversion, and the referrer's counter increments. ``refunded``: the
    converting order was already fully refunded when its payment was seen (the refund came
    first): its rewards are cancelled from the start, as they would be within the hold."""
    if refunded:
        status: PlanStatus = "cancelled"
        reason: str | None = CONVERTING_ORDER_REFUNDED
        release = None
    elif hold_days > 0:
        status, reason, release = "held", None, release_at(paid_at, now, hold_days)
    else:
        status, reason, release = "pending", None, None
    plans = [
        RewardPlan(
            side="referee",
            customer_id=referee_id,
            template_id=referee_template_id,
            grant_id=grant_id(shop, referee_id, "referee"),
            status=status,
            reason=reason,
            release_at=release,
        )
    ]
    increments: dict[str, int] = {}
    if referrer_id is not None:
        capped = cap is not None and granted >= cap
        increments = {"converted_count": 1} if capped else {"converted_count": 1, "rewards_granted": 1}
        plans.append(
            RewardPlan(
                side="referrer",
                customer_id=referrer_id,
                template_id=referrer_template_id,
                grant_id=grant_id(shop, referee_id, "referrer"),
                status="capped" if capped else status,
                reason=CAP_REACHED if capped else reason,
                release_at=None if capped else release,
            )
        )
    return tuple(plans), increments


def withdraw_reason(buyer: Buyer) -> str | None:
    """Why the rewards of the buyer's conversion must be taken back (cancelled while held,
    revoked once issued), or None: the referral was voided (the customer had ordered before
    signing up), or the converting order is fully refunded."""
    if buyer.converted_at is None or buyer.conversion_order_id is None:
        return None
    if buyer.voided is not None:
        return NOT_NEW_CUSTOMER
    tally = buyer.orders.get(buyer.conversion_order_id)
    if tally is not None and tally.fully_refunded:
        return CONVERTING_ORDER_REFUNDED
    return None


def reward_holders(shop: str, buyer: Buyer) -> list[tuple[str, str]]:
    """(customer id, grant id) of each reward the buyer's conversion may have created."""
    out = [(buyer.customer_id, grant_id(shop, buyer.customer_id, "referee"))]
    kind, referrer = buyer.referrer_kind, buyer.referrer_id
    if buyer.voided is not None:
        kind, referrer = buyer.voided.referrer_kind, buyer.voided.referrer_id
    if kind == "customer" and referrer:
        out.append((referrer, grant_id(shop, buyer.customer_id, "referrer")))
    return out


def limit_problem(per_customer_limit: int, max_rewards_per_referrer: int | None) -> str | None:
    """Why a referrer template cannot pay a program's cap, or None: the coupons service
    issues a customer at most ``per_customer_limit`` coupons of a template, so a referrer
    allowed more rewards than that would silently get nothing for the later ones."""
    if max_rewards_per_referrer is not None and per_customer_limit < max_rewards_per_referrer:
        return (
            f"the referrer template allows {per_customer_limit} coupon(s) per customer, fewer than "
            f"max_rewards_per_referrer ({max_rewards_per_referrer})"
        )
    return None
