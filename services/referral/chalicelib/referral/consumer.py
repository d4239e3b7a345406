"""Handlers of the referral queue: order events (attribution, funnel, conversion) and the
coupons service's answers to reward grants.

Every handler is idempotent on a business key: an order's payment on (shop, customer,
order_id), a refund on its ``refund_id``, a grant result on its ``grant_id``. The customer's
state is read, the domain decides, and the store writes under the version that was read; on a
concurrent change the handler decides again. A transient storage failure raises, so the
message is retried. Grants are sent after the conversion is committed; if sending fails the
redelivered event sends the still-pending grants again (the coupons service issues one coupon
per ``grant_id``), and a scheduled sweep re-sends grants left unanswered.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from campaign_shared import clock, events, messaging, observability
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.events import PoisonMessage
from campaign_shared.grants import CouponGrant, CouponGrantResult
from chalicelib.referral import domain, store
from chalicelib.referral.domain import Buyer, Outcome, PaidOrder

MAX_ATTEMPTS = 5
# A pending grant is sent again after this long without an answer, at most MAX_SENDS times.
RESEND_AFTER = timedelta(minutes=2)
MAX_SENDS = 5


def _log() -> Any:
    return observability.logger("referral")


def _shop(event: events.OrderEvent) -> str:
    if not event.shop:
        raise PoisonMessage("order event without shop")
    return event.shop


def _grant_message(shop: str, customer_id: str, template_id: str, grant_id: str) -> dict[str, Any]:
    grant = CouponGrant(
        grant_id=grant_id, shop=shop, template_id=template_id, customer_id=customer_id, reply_to="referral"
    )
    return grant.model_dump(mode="json")


def _send_grants(shop: str, plans: tuple[domain.RewardPlan, ...]) -> None:
    messages = [
        _grant_message(shop, plan.customer_id, plan.template_id, plan.grant_id)
        for plan in plans
        if plan.status == "pending"
    ]
    if messages:
        messaging.send_batch("coupons", messages)


def _resend_pending(shop: str, buyer: Buyer) -> None:
    """A redelivered converting order: send again what may not have been sent."""
    pending = store.reward_items(
        shop, buyer.customer_id, [domain.grant_id(shop, buyer.customer_id, "referee")]
    )
    if buyer.referrer_kind == "customer" and buyer.referrer_id:
        gid = domain.grant_id(shop, buyer.customer_id, "referrer")
        pending += store.reward_items(shop, buyer.referrer_id, [gid])
    messages = [
        _grant_message(shop, item["customer_id"], item["template_id"], item["grant_id"])
        for item in pending
        if item.get("status") == "pending"
    ]
    if messages:
        messaging.send_batch("coupons", messages)


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
        if code is not None and buyer.attributed_code is None:
            owner = store.get_code(shop, code)
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
        _send_grants(shop, outcome.rewards)
    elif seen["buyer"].conversion_order_id == event.order_id:
        _resend_pending(shop, seen["buyer"])


def on_order_refunded(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    shop = _shop(event)
    assert event.refund is not None  # the event model requires it
    amount = sum(line.amount for line in event.refund.lines)

    def decide() -> Outcome:
        buyer = store.get_buyer(shop, event.customer_id)
        return domain.apply_refund(buyer, event.order_id, event.refund.refund_id, amount)  # type: ignore[union-attr]

    _settle(shop, decide)


def on_grant_result(body: dict[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        result = CouponGrantResult.model_validate(body)
    except ValidationError as exc:
        raise PoisonMessage(f"malformed grant result: {exc.error_count()} errors") from None
    outcome = store.record_grant_result(
        result.shop,
        result.customer_id,
        result.grant_id,
        result.status,
        result.coupon_id,
        result.reason,
        clock.iso(clock.now()),
    )
    if outcome == "unknown":
        _log().warning("grant result for an unknown reward; dropped", extra={"grant_id": result.grant_id})


def resend_stale_grants(limit: int = 100) -> dict[str, int]:
    """Send again the grants left unanswered; give up (reward failed) after MAX_SENDS."""
    now = clock.now()
    stale = store.stale_pending_rewards(clock.iso(now - RESEND_AFTER), limit=limit)
    resent = gave_up = 0
    for item in stale:
        if int(item.get("sends", 0)) >= MAX_SENDS:
            store.mark_unanswered(item, "no answer from the coupons service", clock.iso(now))
            gave_up += 1
            continue
        messaging.send(
            "coupons",
            _grant_message(item["shop"], item["customer_id"], item["template_id"], item["grant_id"]),
        )
        store.mark_resent(item, clock.iso(now))
        resent += 1
    return {"resent": resent, "gave_up": gave_up}
