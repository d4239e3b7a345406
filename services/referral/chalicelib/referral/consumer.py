"""Handlers of the referral queue: order events (``usecases.orders``) and the coupons
service's answers to reward grants and revokes (``usecases.rewards``), and the two sweeps.

A handler parses its message (a malformed one is a ``PoisonMessage``: dead-lettered, not
retried) and calls its use case. Every use case is idempotent on a business key, and a
transient storage failure raises, so the message is retried.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from campaign_shared import events
from campaign_shared.events import PoisonMessage
from campaign_shared.grants import CouponGrantResult, CouponRevokeResult
from chalicelib.referral import domain
from chalicelib.referral.domain import PaidOrder
from chalicelib.referral.usecases import orders, rewards
from chalicelib.referral.usecases.rewards import MAX_SENDS, RESEND_AFTER

__all__ = [
    "MAX_SENDS",
    "RESEND_AFTER",
    "on_grant_result",
    "on_order_paid",
    "on_order_refunded",
    "on_revoke_result",
    "release_held_rewards",
    "resend_stale_grants",
]

M = TypeVar("M", bound=BaseModel)


def _shop(event: events.OrderEvent) -> str:
    if not event.shop:
        raise PoisonMessage("order event without shop")
    return event.shop


def _parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise PoisonMessage(f"malformed {body.get('type')}: {exc.error_count()} errors") from None


def on_order_paid(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    order = PaidOrder(
        order_id=event.order_id,
        total_paid=event.total_paid,
        occurred_at=event.occurred_at,
        referral_code=domain.normalize_code(event.referral_code) if event.referral_code else None,
    )
    orders.order_paid(_shop(event), event.customer_id, order)


def on_order_refunded(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    shop = _shop(event)
    refund = event.refund
    assert refund is not None  # the event model requires it
    amount = sum(line.amount for line in refund.lines)
    orders.order_refunded(shop, event.customer_id, event.order_id, refund.refund_id, amount)


def on_grant_result(body: dict[str, Any]) -> None:
    rewards.grant_result(_parse(CouponGrantResult, body))


def on_revoke_result(body: dict[str, Any]) -> None:
    rewards.revoke_result(_parse(CouponRevokeResult, body))


def resend_stale_grants(limit: int = 100) -> dict[str, int]:
    """Send again the grants and revokes left unanswered (see ``usecases.rewards``)."""
    return rewards.resend_stale_grants(limit)


def release_held_rewards(limit: int = 500, max_rounds: int = 20) -> dict[str, int]:
    """Grant the held rewards whose refund window is over (see ``usecases.rewards``)."""
    return rewards.release_held_rewards(limit, max_rounds)
