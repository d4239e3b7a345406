"""Order events -> fulfilments, and the ``wishlist.item_fulfilled`` notification.

Every step is idempotent on the business key ``(order_id, line_id)`` (one fill per paid
line) and on ``refund_id`` (a refund counts once), and correct in any order:

- ``paid``: each line with ``wishlist_item`` fulfils the item, consuming its reservation
  when it names one. A second delivery, or a second event for the same order, finds the line
  already paid and changes nothing.
- ``refunded``: gives the refunded units back. A refund that arrives before its payment is
  kept (on the item when the event names it, else on the order) and the late payment is
  counted net of it.
- ``cancelled``: the order will never be paid, so its reservations are released.

An event for an unknown item or list is logged and dropped. A storage failure raises, so
the message is retried; a rerun after a crash between two writes redoes only what is left.

Each fulfilment publishes one ``wishlist.item_fulfilled`` message on the ``wishlist-events``
topic. The fill is marked ``notified`` after the publish succeeds, so a redelivery publishes
only if the earlier attempt failed before marking; ``fulfilment_id`` is stable, so the
storefront can drop the rare duplicate. With ``surprise`` the message names neither the
buyer nor the order.
"""

from __future__ import annotations

import hashlib
from typing import Any

from campaign_shared import clock, observability
from campaign_shared.events import OrderEvent, OrderLine
from chalicelib.wishlist import domain
from chalicelib.wishlist.store.records import ItemRecord, OrderLineRecord, PendingRefund
from chalicelib.wishlist.usecases import Stores, mutate_item, real_stores

TOPIC = "wishlist-events"
FULFILLED = "wishlist.item_fulfilled"


def _log() -> Any:
    return observability.logger("wishlist")


# ---- order.paid --------------------------------------------------------------------------------


def paid(shop: str, event: OrderEvent, stores: Stores | None = None) -> None:
    stores = stores or real_stores()
    lines = [line for line in event.lines if line.wishlist_item is not None]
    if not lines:
        return
    # The index first, then the refunds: a refund that names no item writes its record first
    # and then reads the index, so one of the two always sees the other.
    for line in lines:
        ref = line.wishlist_item
        assert ref is not None
        stores.orders.put_line(
            shop,
            OrderLineRecord(
                order_id=event.order_id,
                line_id=line.line_id,
                list_id=ref.list_id,
                item_id=ref.item_id,
                line_quantity=line.quantity,
                paid_amount=line.paid_amount,
            ),
        )
    pending: dict[str, dict[str, int]] = {}
    for refund in stores.orders.pending_refunds(shop, event.order_id):
        pending.setdefault(refund.line_id, {})[refund.refund_id] = refund.amount
    for line in lines:
        _fulfil(stores, shop, event, line, pending.get(line.line_id, {}))


def _fulfil(stores: Stores, shop: str, event: OrderEvent, line: OrderLine, refunds: dict[str, int]) -> None:
    ref = line.wishlist_item
    assert ref is not None
    key = domain.fill_key(event.order_id, line.line_id)

    def change(state: domain.ItemState) -> domain.ItemState | None:
        return domain.apply_paid(
            state,
            key,
            line_quantity=line.quantity,
            paid_amount=line.paid_amount,
            reservation_id=ref.reservation_id,
            buyer=event.customer_id,
            paid_at=clock.iso(clock.parse(event.occurred_at)),
            now=clock.epoch(clock.now()),
            refunds=refunds,
        )

    result = mutate_item(stores, shop, ref.list_id, ref.item_id, change)
    if result is None:
        _log().info("paid line names no known wishlist item; dropped", extra={"order_id": event.order_id})
        return
    item, state = result
    if domain.needs_notification(state, key):
        stores.publish(TOPIC, fulfilled_message(shop, event, line, item, state))
        mutate_item(stores, shop, ref.list_id, ref.item_id, lambda s: domain.mark_notified(s, key))
        observability.count("wishlist", "ItemsFulfilled")


def fulfilment_id(shop: str, order_id: str, line_id: str) -> str:
    """Stable per paid line, and opaque (it must not reveal the order of a surprise)."""
    return hashlib.sha256(f"{shop}\n{order_id}\n{line_id}".encode()).hexdigest()[:32]


def fulfilled_message(
    shop: str, event: OrderEvent, line: OrderLine, item: ItemRecord, state: domain.ItemState
) -> dict[str, Any]:
    key = domain.fill_key(event.order_id, line.line_id)
    message: dict[str, Any] = {
        "type": FULFILLED,
        "fulfilment_id": fulfilment_id(shop, event.order_id, line.line_id),
        "shop": shop,
        "owner_id": item.owner,
        "list_id": item.list_id,
        "item_id": item.item_id,
        "product_id": item.product_id,
        "name": item.name,
        "quantity": state.fills[key].counted,
        "fulfilled_quantity": state.fulfilled,
        "wanted_quantity": state.quantity,
        "surprise": item.surprise,
        "occurred_at": clock.iso(clock.parse(event.occurred_at)),
    }
    if not item.surprise:
        message["buyer_id"] = event.customer_id
        message["order_id"] = event.order_id
    return message


# ---- order.refunded ----------------------------------------------------------------------------


def refunded(shop: str, event: OrderEvent, stores: Stores | None = None) -> None:
    stores = stores or real_stores()
    refund = event.refund
    assert refund is not None
    by_line = {line.line_id: line for line in event.lines}
    for refunded_line in refund.lines:
        line = by_line.get(refunded_line.line_id)
        if line is not None:
            if line.wishlist_item is None:
                continue  # the event shows this line was not a wish
            target = OrderLineRecord(
                order_id=event.order_id,
                line_id=line.line_id,
                list_id=line.wishlist_item.list_id,
                item_id=line.wishlist_item.item_id,
                line_quantity=line.quantity,
                paid_amount=line.paid_amount,
            )
        else:
            # The event does not say which item: keep the refund on the order (a payment
            # processed later picks it up), then look for the payment's index record.
            stores.orders.put_pending_refund(
                shop,
                PendingRefund(
                    order_id=event.order_id,
                    refund_id=refund.refund_id,
                    line_id=refunded_line.line_id,
                    amount=refunded_line.amount,
                ),
            )
            found = stores.orders.get_line(shop, event.order_id, refunded_line.line_id)
            if found is None:
                continue
            target = found
        _refund(stores, shop, refund.refund_id, refunded_line.amount, target)


def _refund(stores: Stores, shop: str, refund_id: str, amount: int, target: OrderLineRecord) -> None:
    key = domain.fill_key(target.order_id, target.line_id)

    def change(state: domain.ItemState) -> domain.ItemState | None:
        return domain.apply_refund(
            state,
            key,
            refund_id=refund_id,
            amount=amount,
            line_quantity=target.line_quantity,
            paid_amount=target.paid_amount,
        )

    if mutate_item(stores, shop, target.list_id, target.item_id, change) is None:
        _log().info("refund names no known wishlist item; dropped", extra={"order_id": target.order_id})


# ---- order.cancelled ---------------------------------------------------------------------------


def cancelled(shop: str, event: OrderEvent, stores: Stores | None = None) -> None:
    stores = stores or real_stores()
    for line in event.lines:
        ref = line.wishlist_item
        if ref is not None and ref.reservation_id is not None:
            _release(stores, shop, ref.list_id, ref.item_id, ref.reservation_id)


def _release(stores: Stores, shop: str, list_id: str, item_id: str, reservation_id: str) -> None:
    mutate_item(stores, shop, list_id, item_id, lambda state: domain.release_hold(state, reservation_id))
