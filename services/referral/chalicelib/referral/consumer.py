"""Handlers of the referral queue: order events (attribution, funnel, conversion, voided
signups, refunds of converting orders) and the coupons service's answers to reward grants
and revokes (``reward_flow``).

Every handler is idempotent on a business key: an order's payment on (shop, customer,
order_id), a refund on its ``refund_id``, a grant or revoke result on its ``grant_id``. The
customer's state is read, the domain decides, and the store writes under the version that
was read; on a concurrent change the handler decides again. A transient storage failure
raises, so the message is retried. Grants are sent after the conversion is committed; if
sending fails the redelivered event sends the still-pending grants again (the coupons service
issues one coupon per ``grant_id``), and a scheduled sweep re-sends grants left unanswered.

When an event leaves the customer's conversion void (an earlier order showed they were not
new) or its converting order fully refunded, its rewards are taken back
(``reward_flow.withdraw``): right after the commit, and again on every redelivery of that
event, so a crash in between is repaired by the retry.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, events, observability
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.events import PoisonMessage
from chalicelib.referral import domain, reward_flow, store
from chalicelib.referral.domain import Buyer, Outcome, PaidOrder, rewards
from chalicelib.referral.reward_flow import (  # noqa: F401 - the queue handlers and sweeps, by name
    MAX_SENDS,
    RESEND_AFTER,
    on_grant_result,
    on_revoke_result,
    release_held_rewards,
    resend_stale_grants,
)

MAX_ATTEMPTS = 5


def _log() -> Any:
    return observability.logger("referral")


def _shop(event: events.OrderEvent) -> str:
    if not event.shop:
        raise PoisonMessage("order event without shop")
    return event.shop


def _settle(shop: str, decide: Any) -> Outcome:
    """Read, decide, write under the version read; decide again when the customer changed."""
    for _ in range(MAX_ATTEMPTS):
        outcome: Outcome = decide()
        if not outcome.changed:
            return outcome
        if store.commit(shop, outcome, clock.iso(clock.now())):
            return outcome
    raise ServiceUnavailable("customer state kept changing; retry")


def on_order_paid(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    shop = _shop(event)
    code = domain.normalize_code(event.referral_code) if event.referral_code else None
    order = PaidOrder(
        order_id=event.order_id,
        total_paid=event.total_paid,
        occurred_at=event.occurred_at,
        referral_code=code,
    )
    seen: dict[str, Buyer] = {}

    def decide() -> Outcome:
        buyer = store.get_buyer(shop, event.customer_id)
        seen["buyer"] = buyer
        owner = None
        if code is not None and (buyer.attributed_code is None or buyer.bound_code is not None):
            owner = store.get_code(shop, code)  # (a bound customer's order may void the signup)
            if owner is None:
                _log().info("order names an unknown referral code", extra={"order_id": event.order_id})
        program = None
        granted = 0
        if buyer.bound_code is not None and buyer.converted_at is None:
            found = store.get_program(shop)
            program = found[0] if found else None
            if program and program.max_rewards_per_referrer and buyer.referrer_kind == "customer":
                granted = store.rewards_granted(shop, buyer.referrer_id or "")
        return domain.apply_paid(
            shop,
            buyer,
            order,
            code_owner=owner,
            program=program,
            referrer_rewards_granted=granted,
            now=clock.iso(clock.now()),
        )

    outcome = _settle(shop, decide)
    if outcome.changed:
        reward_flow.send_grants(shop, outcome.rewards)
    elif seen["buyer"].conversion_order_id == event.order_id:
        reward_flow.resend_pending(shop, seen["buyer"])
    _take_back(shop, outcome)


def on_order_refunded(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    shop = _shop(event)
    assert event.refund is not None  # the event model requires it
    amount = sum(line.amount for line in event.refund.lines)

    def decide() -> Outcome:
        buyer = store.get_buyer(shop, event.customer_id)
        return domain.apply_refund(buyer, event.order_id, event.refund.refund_id, amount)  # type: ignore[union-attr]

    _take_back(shop, _settle(shop, decide))


def _take_back(shop: str, outcome: Outcome) -> None:
    """Withdraw the conversion's rewards when this event made them due for it, or on a
    redelivery (the first delivery may have crashed before it withdrew them)."""
    buyer: Buyer = outcome.after
    reason = rewards.withdraw_reason(buyer)
    if reason is None:
        return
    if outcome.changed and rewards.withdraw_reason(outcome.before) == reason:
        return  # already due before this event: its own event did it
    reward_flow.withdraw(shop, buyer, reason)
