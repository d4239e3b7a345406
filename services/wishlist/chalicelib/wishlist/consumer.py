"""Message handlers: order events (``order.paid``, ``order.refunded``, ``order.cancelled``)
parsed and handed to ``usecases.orders``. An event without a shop is poison (dead-lettered
after the queue's receive limit); a storage failure raises, so the message is retried."""

from __future__ import annotations

from typing import Any

from campaign_shared import events
from chalicelib.wishlist.usecases import orders


def on_order_event(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    if not event.shop:
        raise events.PoisonMessage("order event without shop")
    shop = str(event.shop)
    if event.type == "order.paid":
        orders.paid(shop, event)
    elif event.type == "order.refunded":
        orders.refunded(shop, event)
    else:
        orders.cancelled(shop, event)
