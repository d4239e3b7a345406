"""The referral rules, pure: no boto3, no HTTP.

Money is integer minor units (fen); rates are basis points; rounding is floor, as everywhere
(``campaign_shared.money``). The counters and the report row are in ``counters``.

**Customer state.** Each customer of a shop has one ``Buyer`` record: the signup binding (the
code that referred them, once), the code they are *attributed* to (the bound code, or the
``referral_code`` of their first paid order when they never signed up), a tally per order
(paid amount, refunds by ``refund_id``) and the conversion, if any.

**Funnel counters are differences of state.** A customer attributed to a code contributes to
that code: ``first_orders`` 1 once they have a paid order, ``repeat_customers`` 1 once they
have two, ``gmv_amount`` their net amount (each paid order's ``paid_amount`` less its refunds,
never below 0 per order). An event changes the customer's state; the code's counters change by
``contribution(after) - contribution(before)``. A duplicate event changes no state and so no
counter, and whatever order events arrive in (a refund before its payment, a paid twice), the
counters end equal to the contribution of the final state.

**Conversion.** The first ``order.paid`` of a bound customer whose total ``paid_amount`` is at
least the program's ``min_order_amount`` converts the referral, once: the referee gets a coupon
of ``referee_template_id``; a referring customer gets one of ``referrer_template_id`` unless they
already reached ``max_rewards_per_referrer`` (the reward is then recorded as ``capped``). A
channel is not a customer: a channel referral rewards the referee only. A capped, failed,
cancelled or revoked referrer reward still counts towards the cap: the cap limits referral
attempts rewarded. With ``reward_hold_days`` the rewards are held through the converting
order's refund window; a full refund of that order cancels or revokes them (``rewards``).

**New means new at order time.** A signup is accepted when no order of the customer is known
yet; an ``order.paid`` that arrives later but *occurred* before the signup shows the customer
was not new. The signup is then voided: the binding is removed (kept as ``voided`` for the
record), the code's ``signups`` go down by one and its ``not_new_customer`` refusals up by one,
the referrer's ``referred_count`` (and ``converted_count``) down, and if the referral had
already converted, its rewards are taken back. A voided customer never converts.

**No mutual referral.** A customer cannot sign up with the code of someone they referred.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from campaign_shared import clock
from campaign_shared.errors import Conflict
from chalicelib.referral.domain import rewards
from chalicelib.referral.domain.buyers import Buyer, OrderTally, Program, VoidedBinding, funnel_delta
from chalicelib.referral.domain.codes import CodeOwner
from chalicelib.referral.domain.counters import Counters
from chalicelib.referral.domain.rewards import RewardPlan

# ---- signups ---------------------------------------------------------------------------


class SignupRefused(Conflict):
    """A refused signup: 409 with the reason as the error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason


def signup(buyer: Buyer, owner: CodeOwner, now: str, owner_referred_by: str | None = None) -> Outcome:
    """A signup: the binding, one more signup for the code and one more referral for a
    referring customer. ``owner_referred_by``: who referred the code's owner (a customer id,
    None for a channel or an owner nobody referred). Refusals raise ``SignupRefused``. The
    outcome guards the owner's binding, so two customers signing up with each other's code at
    the same time cannot both succeed."""
    after = bind(buyer, owner, now, owner_referred_by)
    return Outcome(
        before=buyer,
        after=after,
        deltas={owner.code: Counters(signups=1)},
        credit_referrer=owner.customer_id,
        referrer_increments={"referred_count": 1} if owner.customer_id else {},
        not_referred_by=(owner.owner_id, buyer.customer_id) if owner.customer_id else None,
    )


def bind(buyer: Buyer, owner: CodeOwner, now: str, owner_referred_by: str | None = None) -> Buyer:
    """Bind a new customer to the owner of ``owner.code``; refusals raise ``SignupRefused``."""
    if owner.kind == "customer" and owner.owner_id == buyer.customer_id:
        raise SignupRefused("self_referral", "a customer cannot sign up with their own referral code")
    if buyer.bound_code is not None:
        raise SignupRefused("already_referred", "this customer was already referred")
    if buyer.has_ordered or buyer.attributed_code is not None or buyer.voided is not None:
        raise SignupRefused("not_new_customer", "only a customer without a paid order can be referred")
    if owner.kind == "customer" and owner_referred_by == buyer.customer_id:
        raise SignupRefused(
            "mutual_referral", "this code's owner was referred by you: a referral cannot go both ways"
        )
    return replace(
        buyer,
        bound_code=owner.code,
        bound_at=now,
        referrer_kind=owner.kind,
        referrer_id=owner.owner_id,
        attributed_code=owner.code,
    )


# ---- orders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A customer's state before and after one event, and what follows from the change."""

    before: Buyer
    after: Buyer
    deltas: Mapping[str, Counters] = field(default_factory=dict)
    rewards: tuple[RewardPlan, ...] = ()
    # A referring customer whose counters (``referred_count``, ``converted_count``,
    # ``rewards_granted``) this event raises; ``rewards_granted`` only while below the cap.
    credit_referrer: str | None = None
    referrer_increments: Mapping[str, int] = field(default_factory=dict)
    referrer_reward_cap: int | None = None
    # (code owner, new customer) of a signup: written only if the owner was not referred by
    # the new customer (a condition on the owner's state, against mutual referrals).
    not_referred_by: tuple[str, str] | None = None

    @property
    def changed(self) -> bool:
        return self.after != self.before


@dataclass(frozen=True)
class PaidOrder:
    order_id: str
    total_paid: int
    occurred_at: str
    referral_code: str | None = None


def apply_paid(
    shop: str,
    buyer: Buyer,
    order: PaidOrder,
    *,
    code_owner: CodeOwner | None,
    program: Program | None,
    referrer_rewards_granted: int,
    now: str,
) -> Outcome:
    """The outcome of an ``order.paid``; a repeated payment of the same order changes nothing.

    ``code_owner`` resolves the order's ``referral_code`` (None when absent or unknown). An
    unattributed customer is attributed to it when this order is their earliest paid order
    (also when it arrives after a later one) and the code is not their own.
    """
    existing = buyer.orders.get(order.order_id)
    if existing is not None and existing.paid:
        return Outcome(before=buyer, after=buyer)
    tally = OrderTally(
        paid_amount=order.total_paid,
        occurred_at=order.occurred_at,
        refunds=dict(existing.refunds) if existing else {},
    )
    after = replace(buyer, orders={**buyer.orders, order.order_id: tally})
    if buyer.bound_at is not None and clock.parse(order.occurred_at) < clock.parse(buyer.bound_at):
        return _void(buyer, after, order, code_owner, now)
    if (
        buyer.attributed_code is None
        and code_owner is not None
        and code_owner.customer_id != buyer.customer_id
    ):
        earliest = buyer.earliest_paid_at
        if earliest is None or clock.parse(order.occurred_at) < clock.parse(earliest):
            after = replace(after, attributed_code=code_owner.code)
    deltas = funnel_delta(buyer, after)
    outcome = Outcome(before=buyer, after=after, deltas=deltas)
    if (
        after.bound_code is not None
        and after.converted_at is None
        and program is not None
        and order.total_paid >= program.min_order_amount
    ):
        outcome = _convert(shop, outcome, order, program, referrer_rewards_granted, now)
    return outcome


def _void(buyer: Buyer, after: Buyer, order: PaidOrder, code_owner: CodeOwner | None, now: str) -> Outcome:
    """The signup of ``buyer`` undone: ``order`` occurred before it (see the module doc). The
    order is then the customer's earliest paid order, so its ``referral_code`` (if any, and
    not their own) attributes them, as for a customer who never signed up."""
    assert buyer.bound_code is not None and buyer.bound_at is not None and buyer.referrer_kind is not None
    voided = VoidedBinding(
        code=buyer.bound_code,
        referrer_kind=buyer.referrer_kind,
        referrer_id=buyer.referrer_id or "",
        bound_at=buyer.bound_at,
        voided_at=now,
        order_id=order.order_id,
    )
    attributed = None
    if code_owner is not None and code_owner.customer_id != buyer.customer_id:
        attributed = code_owner.code
    after = replace(
        after,
        bound_code=None,
        bound_at=None,
        referrer_kind=None,
        referrer_id=None,
        attributed_code=attributed,
        voided=voided,
    )
    converted = buyer.converted_at is not None
    deltas = dict(funnel_delta(buyer, after))
    undo = Counters(signups=-1, refused_not_new_customer=1, conversions=-1 if converted else 0)
    deltas[voided.code] = deltas.get(voided.code, Counters()) + undo
    referrer = voided.referrer_id if voided.referrer_kind == "customer" else None
    increments = {"referred_count": -1, **({"converted_count": -1} if converted else {})}
    return Outcome(
        before=buyer,
        after=after,
        deltas={c: d for c, d in deltas.items() if d.nonzero()},
        credit_referrer=referrer,
        referrer_increments=increments if referrer else {},
    )


def _convert(
    shop: str, outcome: Outcome, order: PaidOrder, program: Program, granted: int, now: str
) -> Outcome:
    buyer = replace(outcome.after, converted_at=now, conversion_order_id=order.order_id)
    code = buyer.bound_code
    assert code is not None
    deltas = dict(outcome.deltas)
    deltas[code] = deltas.get(code, Counters()) + Counters(conversions=1)
    referrer = buyer.referrer_id if buyer.referrer_kind == "customer" else None
    plans, increments = rewards.plan_rewards(
        shop,
        referee_id=buyer.customer_id,
        referrer_id=referrer,
        referee_template_id=program.referee_template_id,
        referrer_template_id=program.referrer_template_id,
        cap=program.max_rewards_per_referrer,
        granted=granted,
        hold_days=program.reward_hold_days,
        paid_at=order.occurred_at,
        refunded=buyer.orders[order.order_id].fully_refunded,
        now=now,
    )
    return replace(
        outcome,
        after=buyer,
        deltas=deltas,
        rewards=plans,
        credit_referrer=referrer,
        referrer_increments=increments,
        referrer_reward_cap=program.max_rewards_per_referrer,
    )


def apply_refund(buyer: Buyer, order_id: str, refund_id: str, amount: int) -> Outcome:
    """The outcome of a refund; the same ``refund_id`` twice changes nothing. A refund that
    arrives before its payment is kept on the order and counts once the payment is seen."""
    existing = buyer.orders.get(order_id, OrderTally())
    if refund_id in existing.refunds:
        return Outcome(before=buyer, after=buyer)
    tally = replace(existing, refunds={**existing.refunds, refund_id: amount})
    after = replace(buyer, orders={**buyer.orders, order_id: tally})
    return Outcome(before=buyer, after=after, deltas=funnel_delta(buyer, after))
