"""Order events on the distribution queue: accrue on ``order.paid``, reverse or claw back on
``order.refunded`` (``usecases.orders`` records the facts and posts what they imply).

Malformed events raise ``PoisonMessage`` (retried, then the DLQ); storage failures raise
(retried). ``order.cancelled`` happens before payment, when no commission exists: not
handled here."""

from __future__ import annotations

from typing import Any

from campaign_shared import events
from chalicelib.distribution.domain import PaidLine
from chalicelib.distribution.usecases import orders


def _event(body: dict[str, Any]) -> tuple[str, events.OrderEvent]:
    event = events.parse_order_event(body)
    if not event.shop:
        raise events.PoisonMessage("order event without shop")
    return event.shop, event


def on_paid(body: dict[str, Any]) -> None:
    shop, event = _event(body)
    orders.on_paid(
        orders.Payment(
            shop=shop,
            order_id=event.order_id,
            customer_id=event.customer_id,
            currency=event.currency,
            code=event.distributor_code or "",
            occurred_at=event.occurred_at,
            lines=[PaidLine(line.line_id, line.product_id, line.paid_amount) for line in event.lines],
        )
    )


def on_refunded(body: dict[str, Any]) -> None:
    shop, event = _event(body)
    assert event.refund is not None
    amounts: dict[str, int] = {}
    for line in event.refund.lines:
        amounts[line.line_id] = amounts.get(line.line_id, 0) + line.amount
    orders.on_refunded(
        orders.RefundFacts(
            shop=shop,
            order_id=event.order_id,
            refund_id=event.refund.refund_id,
            occurred_at=event.occurred_at,
            lines=amounts,
        )
    )


# Message type -> handler of the parsed message body (idempotent on a business key).
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": on_paid,
    "order.refunded": on_refunded,
}
