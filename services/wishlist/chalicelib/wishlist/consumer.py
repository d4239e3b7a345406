"""Order events -> fulfilments, and the ``wishlist.item_fulfilled`` notification.

Every handler is idempotent on the business key ``(order_id, line_id)`` (one fill per paid
line) and on ``refund_id`` (a refund counts once), and correct in any order:

- ``order.paid``: each line with ``wishlist_item`` fulfils the item, consuming its
  reservation when it names one. A second delivery, or a second event for the same order,
  finds the line already paid and changes nothing.
- ``order.refunded``: gives the refunded units back. A refund that arrives before its
  payment is kept (on the item when the event names it, else on the order) and the late
  payment is counted net of it.
- ``order.cancelled``: the order will never be paid, so its reservations are released.

An event for an unknown item, list or shop is logged and dropped. A storage failure raises,
so the message is retried (and reaches the DLQ after the queue's receive limit).

Each fulfilment publishes one ``wishlist.item_fulfilled`` message on the ``wishlist-events``
topic. The fill is marked ``notified`` after the publish succeeds, so a redelivery publishes
only if the earlier attempt failed before marking; ``fulfilment_id`` is stable, so the
storefront can drop the rare duplicate. With ``surprise`` the message names neither the
buyer nor the order.
"""

from __future__ import annotations

import hashlib
from typing import Any

from campaign_shared import clock, events, messaging, observability
from campaign_shared.events import OrderEvent, OrderLine
from chalicelib.wishlist import domain, store_items

TOPIC = "wishlist-events"
FULFILLED = "wishlist.item_fulfilled"


def _log() -> Any:
    return observability.logger("wishlist")


def on_order_event(body: dict[str, Any]) -> None:
    event = events.parse_order_event(body)
    if not event.shop:
        raise events.PoisonMessage("order event without shop")
    if event.type == "order.paid":
        on_paid(event)
    elif event.type == "order.refunded":
        on_refunded(event)
    else:
        on_cancelled(event)


# ---- order.paid --------------------------------------------------------------------------------


def on_paid(event: OrderEvent) -> None:
    shop = str(event.shop)
    lines = [line for line in event.lines if line.wishlist_item is not None]
    if not lines:
        return
    # The index first, then the refunds: a refund that names no item writes its record first
    # and then reads the index, so one of the two always sees the other.
    for line in lines:
        ref = line.wishlist_item
        assert ref is not None
        store_items.put_order_line(
            shop,
            event.order_id,
            line.line_id,
            {
                "list_id": ref.list_id,
                "item_id": ref.item_id,
                "line_q": line.quantity,
                "paid_amount": line.paid_amount,
            },
        )
    pending = store_items.pending_refunds(shop, event.order_id)
    for line in lines:
        _fulfil(shop, event, line, pending.get(line.line_id, {}))


def _fulfil(shop: str, event: OrderEvent, line: OrderLine, refunds: dict[str, int]) -> None:
    ref = line.wishlist_item
    assert ref is not None
    key = domain.fill_key(event.order_id, line.line_id)

    def change(state: domain.ItemState, item: dict[str, Any]) -> domain.ItemState | None:
        return domain.apply_paid(
            state,
            key,
            line_q=line.quantity,
            paid_amount=line.paid_amount,
            reservation_id=ref.reservation_id,
            buyer=event.customer_id,
            at=clock.iso(clock.parse(event.occurred_at)),
            now=clock.epoch(clock.now()),
            refunds=refunds,
        )

    result = store_items.mutate_item(shop, ref.list_id, ref.item_id, change)
    if result is None:
        _log().info("paid line names no known wishlist item; dropped", extra={"order_id": event.order_id})
        return
    item, state = result
    if domain.needs_notification(state, key):
        messaging.publish(TOPIC, fulfilled_message(shop, event, line, item, state))
        store_items.mutate_item(shop, ref.list_id, ref.item_id, lambda s, _item: domain.mark_notified(s, key))
        observability.count("wishlist", "ItemsFulfilled")


def fulfilment_id(shop: str, order_id: str, line_id: str) -> str:
    """Stable per paid line, and opaque (it must not reveal the order of a surprise)."""
    return hashlib.sha256(f"{shop}\n{order_id}\n{line_id}".encode()).hexdigest()[:32]


def fulfilled_message(
    shop: str, event: OrderEvent, line: OrderLine, item: dict[str, Any], state: domain.ItemState
) -> dict[str, Any]:
    key = domain.fill_key(event.order_id, line.line_id)
    surprise = bool(item.get("surprise"))
    message: dict[str, Any] = {
        "type": FULFILLED,
        "fulfilment_id": fulfilment_id(shop, event.order_id, line.line_id),
        "shop": shop,
        "owner_id": item["owner"],
        "list_id": item["list_id"],
        "item_id": item["item_id"],
        "product_id": item["product_id"],
        "name": item["name"],
        "quantity": state.fills[key].counted,
        "fulfilled_quantity": state.fulfilled,
        "wanted_quantity": state.quantity,
        "surprise": surprise,
        "occurred_at": clock.iso(clock.parse(event.occurred_at)),
    }
    if not surprise:
        message["buyer_id"] = event.customer_id
        message["order_id"] = event.order_id
    return message


# ---- order.refunded ----------------------------------------------------------------------------


def on_refunded(event: OrderEvent) -> None:
    shop = str(event.shop)
    refund = event.refund
    assert refund is not None
    by_line = {line.line_id: line for line in event.lines}
    for refunded in refund.lines:
        line = by_line.get(refunded.line_id)
        if line is not None:
            if line.wishlist_item is None:
                continue  # the event shows this line was not a wish
            target = {
                "list_id": line.wishlist_item.list_id,
                "item_id": line.wishlist_item.item_id,
                "line_q": line.quantity,
                "paid_amount": line.paid_amount,
            }
        else:
            # The event does not say which item: keep the refund on the order (a payment
            # processed later picks it up), then look for the payment's index record.
            store_items.put_pending_refund(
                shop, event.order_id, refund.refund_id, refunded.line_id, refunded.amount
            )
            found = store_items.get_order_line(shop, event.order_id, refunded.line_id)
            if found is None:
                continue
            target = found
        _refund(shop, event.order_id, refunded.line_id, refund.refund_id, refunded.amount, target)


def _refund(
    shop: str, order_id: str, line_id: str, refund_id: str, amount: int, target: dict[str, Any]
) -> None:
    key = domain.fill_key(order_id, line_id)

    def change(state: domain.ItemState, item: dict[str, Any]) -> domain.ItemState | None:
        return domain.apply_refund(
            state,
            key,
            refund_id=refund_id,
            amount=amount,
            line_q=int(target["line_q"]),
            paid_amount=int(target["paid_amount"]),
        )

    if store_items.mutate_item(shop, target["list_id"], target["item_id"], change) is None:
        _log().info("refund names no known wishlist item; dropped", extra={"order_id": order_id})


# ---- order.cancelled ---------------------------------------------------------------------------


def on_cancelled(event: OrderEvent) -> None:
    shop = str(event.shop)
    for line in event.lines:
        ref = line.wishlist_item
        if ref is not None and ref.reservation_id is not None:
            _release(shop, ref.list_id, ref.item_id, ref.reservation_id)


def _release(shop: str, list_id: str, item_id: str, reservation_id: str) -> None:
    def change(state: domain.ItemState, item: dict[str, Any]) -> domain.ItemState | None:
        return domain.release_hold(state, reservation_id)

    store_items.mutate_item(shop, list_id, item_id, change)
