"""Order events and the coupon they name: ``order.paid`` redeems it or records a conflict,
``order.cancelled`` releases it.

Safe in any order and any number of times (SQS is at-least-once and unordered):

- **Paid** (``domain.paid_decision``): an available coupon, or one locked to this order, is
  redeemed, once. A coupon locked to another order, redeemed by another order, or expired
  when the order was paid (``occurred_at``, or now if that is later) is *not* redeemed: a
  conflict ``{order_id, reason, event_id, at}`` is appended to the coupon's ``conflicts``
  (once per event id, at most ``domain.MAX_CONFLICTS``), where the merchant reads it
  (``GET /coupons/customers/{customer_id}/coupons/{coupon_id}``). Each write is conditional
  on the coupon being as it was read; if it changed, the event is decided again.
- **Cancelled**: releases only a coupon locked to that very order (to ``expired`` if it
  expired meanwhile).

An unknown coupon (or one of another shop or customer) is logged and dropped.
"""

from __future__ import annotations

import uuid
from typing import Any

from campaign_shared import clock
from campaign_shared.events import OrderEvent
from chalicelib.coupons import domain, store, store_orders

ATTEMPTS = 5  # re-reads when the coupon changes under an event; then the message is retried


class CouponBusy(Exception):
    """The coupon kept changing while an event was applied; SQS delivers the event again."""


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def on_order_event(event: OrderEvent) -> None:
    if not event.coupon_id or event.type == "order.refunded":
        return
    if not event.shop:
        _log().warning("order event without a shop dropped", extra={"event_id": event.event_id})
        return
    for _ in range(ATTEMPTS):
        coupon = store.get_coupon(event.shop, event.customer_id, event.coupon_id)
        if coupon is None:
            _log().warning("order event for an unknown coupon dropped", extra={"event_id": event.event_id})
            return
        if event.type == "order.cancelled":
            store_orders.release_coupon(
                event.shop,
                event.customer_id,
                event.coupon_id,
                event.order_id,
                domain.status_after_release(coupon, clock.now()),
            )
            return
        if event.type == "order.paid" and _paid(event, coupon):
            return
    raise CouponBusy(f"coupon {event.coupon_id} kept changing under event {event.event_id}")


def _paid(event: OrderEvent, coupon: dict[str, Any]) -> bool:
    """Apply a payment to the coupon as read; False when it changed meanwhile (read again)."""
    shop, now = str(event.shop), clock.now()
    paid_at = min(clock.parse(event.occurred_at), now)
    decision = domain.paid_decision(coupon, event.order_id, paid_at)
    if decision == domain.ALREADY_DONE:
        settle_count(shop, coupon)
        return True
    if decision == domain.REDEEM:
        if not store_orders.redeem(shop, coupon, event.order_id, clock.iso(now)):
            return False
        settle_count(
            shop, {**coupon, "status": "redeemed", "order_id": event.order_id, "count_pending": True}
        )
        return True
    entry = {"order_id": event.order_id, "reason": decision, "event_id": event.event_id, "at": clock.iso(now)}
    release = decision == domain.CONFLICT_EXPIRED and coupon["status"] == "locked"
    result = store_orders.record_conflict(shop, coupon, entry, domain.MAX_CONFLICTS, expire=release)
    if result == "changed":
        return False
    if result == "full":
        _log().warning("coupon conflict not recorded: the coupon holds the most kept", extra=entry)
    return True


def settle_count(shop: str, coupon: dict[str, Any]) -> None:
    """Make the redemption of ``coupon`` (redeemed) counted on its stock shard exactly once
    (``store_orders`` explains the markers). Every step is conditional, so copies of the
    same event may run it at the same time, and a crash anywhere leaves a state the next
    delivery finishes.

    While ``count_pending`` is on the coupon, at most one count is on the shard (its marker
    blocks another), and it is the one the coupon then keeps (``counted_by``). After that, a
    marker other than ``counted_by`` can only be a late copy's surplus count: it is undone."""
    known: dict[str, Any] | None = coupon
    for _ in range(ATTEMPTS):
        current = known or store.get_coupon(shop, coupon["customer_id"], coupon["coupon_id"])
        known = None
        if current is None or current.get("status") != "redeemed":
            return
        marker = store_orders.redeem_marker(shop, current)
        if current.get("count_pending"):
            if marker is None:
                attempt = uuid.uuid4().hex
                if not store_orders.count(shop, current, attempt):
                    continue  # another copy counted just now: look again
                marker = attempt
            if not store_orders.settle(shop, current, marker):
                continue  # settled by another copy: look again (this count may be surplus)
            store_orders.clear(shop, current, marker)
            return
        if marker is None:
            return  # settled (or redeemed before counts were settled this way: counted then)
        if marker == current.get("counted_by"):
            store_orders.clear(shop, current, marker)  # settled, marker left by a crash
        else:
            store_orders.undo(shop, current, marker)  # a late copy counted again
        return
    raise CouponBusy(f"the redemption count of {coupon['coupon_id']} kept changing")
