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
- **Told**: a redemption is published as ``coupon.redeemed`` (``_announce``), at least once.

An unknown coupon (or one of another shop or customer) is logged and dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from campaign_shared import clock, coupon_events
from campaign_shared.coupon_events import CouponRedeemed
from campaign_shared.events import OrderEvent
from campaign_shared.storage import retry
from chalicelib.coupons import domain
from chalicelib.coupons.store.records import Coupon
from chalicelib.coupons.usecases import Stores, budgets, stores_or_default

ATTEMPTS = 5  # re-reads when the coupon changes under an event; then the message is retried (503)


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def on_order_event(event: OrderEvent, stores: Stores | None = None) -> None:
    s = stores_or_default(stores)
    if not event.coupon_id:
        return
    if not event.shop:
        _log().warning("order event without a shop dropped", extra={"event_id": event.event_id})
        return
    for _ in retry.attempts(
        ATTEMPTS, busy=f"coupon {event.coupon_id} kept changing under event {event.event_id}"
    ):
        coupon = s.coupons.get(event.shop, event.customer_id, event.coupon_id)
        if coupon is None:
            _log().warning("order event for an unknown coupon dropped", extra={"event_id": event.event_id})
            return
        if event.type == "order.cancelled":
            status = domain.status_after_release(coupon, clock.now())
            if s.coupons.release(event.shop, event.customer_id, event.coupon_id, event.order_id, status):
                budgets.release(s, event.shop, coupon.template_id, coupon.coupon_id, coupon.budget_hold)
            return
        if event.type == "order.paid" and _paid(s, event, coupon):
            return
        if event.type == "order.refunded":
            _refunded(s, event, coupon)
            return


def _paid(s: Stores, event: OrderEvent, coupon: Coupon) -> bool:
    """Apply a payment to the coupon as read; False when it changed meanwhile (read again)."""
    shop, now = str(event.shop), clock.now()
    paid_at = min(clock.parse(event.occurred_at), now)
    decision = domain.paid_decision(coupon, event.order_id, paid_at)
    if decision == domain.ALREADY_DONE:
        settle_count(shop, coupon, s)
        _settle_budget(s, shop, coupon, coupon.budget_hold, coupon.discount_amount)
        _credit_link(s, event, coupon)
        if coupon.status == "redeemed" and coupon.order_id == event.order_id:  # not a refunded one
            _announce(s, event, coupon)
        return True
    if decision == domain.REDEEM:
        paid, discount = event.total_paid, _discount(s, event, coupon)
        held = _budget_for_payment(s, shop, coupon, discount, now)
        amount = held if isinstance(held, int) else None
        if held == "refused":
            decision = domain.CONFLICT_BUDGET
        elif not s.coupons.redeem(shop, coupon, event.order_id, clock.iso(now), paid, discount, amount):
            return False
        else:
            _settle_budget(s, shop, coupon, amount, discount)
            redeemed = dataclasses.replace(
                coupon,
                status="redeemed",
                order_id=event.order_id,
                count_pending=True,
                order_paid_amount=paid,
                discount_amount=discount,
            )
            settle_count(shop, redeemed, s)
            _credit_link(s, event, redeemed)
            _announce(s, event, redeemed)
            return True
    entry = {"order_id": event.order_id, "reason": decision, "event_id": event.event_id, "at": clock.iso(now)}
    release = decision == domain.CONFLICT_EXPIRED and coupon.status == "locked"
    result = s.coupons.record_conflict(shop, coupon, entry, domain.MAX_CONFLICTS, release)
    if result == "changed":
        return False
    if result == "full":
        _log().warning("coupon conflict not recorded: the coupon holds the most kept", extra=entry)
    return True


PAYMENT_HOLD_SECONDS = 300  # a payment's hold is not reclaimed while the payment is applied


def _budget_for_payment(
    s: Stores, shop: str, coupon: Coupon, discount: int, now: datetime
) -> int | None | str:
    """What of its template's budget the payment redeems the coupon with: the hold its lock
    made (made again if it was reclaimed after the lock lapsed), or, paid without a lock,
    the discount itself; ``None`` without a budget; ``"refused"`` when the budget cannot take
    it (the payment is then a ``budget_exhausted`` conflict: the coupon is not redeemed)."""
    template = s.templates.get(shop, coupon.template_id)
    if template is None or template.budget_amount is None:
        return None
    amount = coupon.budget_hold if coupon.budget_hold is not None else discount
    if not budgets.hold(
        s, shop, template, coupon.coupon_id, amount, now + timedelta(seconds=PAYMENT_HOLD_SECONDS)
    ):
        return "refused"
    return amount


def _settle_budget(s: Stores, shop: str, coupon: Coupon, held: int | None, taken: int | None) -> None:
    """The redemption keeps what it took of the hold. A hold already gone is a settled
    redemption (a redelivery), or one released under the payment by a cancel or unlock of
    the same coupon at the same moment: that discount is not charged (logged)."""
    if held is None or taken is None:
        return
    if (
        not s.budgets.settle(shop, coupon.template_id, coupon.coupon_id, held, taken)
        and coupon.status != "redeemed"
    ):
        _log().warning(
            "a redemption's budget hold was gone when it settled", extra={"coupon_id": coupon.coupon_id}
        )


def _discount(s: Stores, event: OrderEvent, coupon: Coupon) -> int:
    """What the coupon takes off the paid order's lines (the rules of ``validate``)."""
    template = s.templates.get(str(event.shop), coupon.template_id)
    lines = [domain.Line(line.product_id, line.quantity, line.unit_amount) for line in event.lines]
    subtotal, _ = domain.in_scope_subtotal(lines, template.product_ids if template else None)
    return domain.discount_for(coupon, subtotal)


def redeemed_event_id(shop: str, coupon_id: str, order_id: str) -> str:
    """The same for every copy of one redemption, so a consumer counts it once."""
    digest = hashlib.sha256(f"{shop}|{coupon_id}|{order_id}".encode()).hexdigest()[:32]
    return f"cr-{digest}"


def _announce(s: Stores, event: OrderEvent, coupon: Coupon) -> None:
    """``coupon.redeemed`` on the ``coupon-events`` topic (``campaign_shared.coupon_events``).
    Published after the redemption is written and counted, by every copy of the payment that
    finds the coupon redeemed by its order: at least once (a crash before it leaves the
    payment's message to be retried, and the retry publishes), never for a payment that did
    not redeem. Consumers de-duplicate on ``event_id``."""
    message = CouponRedeemed(
        event_id=redeemed_event_id(str(event.shop), coupon.coupon_id, event.order_id),
        shop=str(event.shop),
        customer_id=coupon.customer_id,
        order_id=event.order_id,
        coupon_id=coupon.coupon_id,
        template_id=coupon.template_id,
        share_link_id=coupon.share_link_id,
        grant_id=coupon.grant_id,
        discount_amount=int(coupon.discount_amount or 0),
        occurred_at=event.occurred_at,
    )
    s.publish(coupon_events.TOPIC, message.model_dump(mode="json"))


def _credit_link(s: Stores, event: OrderEvent, coupon: Coupon) -> None:
    """The share link the coupon was claimed through gets the redemption, the order's GMV
    (what was paid) and the coupon's discount on it, once per coupon (a redelivered payment
    finds it recorded)."""
    if not coupon.share_link_id:
        return
    s.links.record_redemption(
        str(event.shop),
        coupon.share_link_id,
        coupon.coupon_id,
        event.order_id,
        event.total_paid,
        _discount(s, event, coupon),
        clock.iso(clock.now()),
    )


def _refunded(s: Stores, event: OrderEvent, coupon: Coupon) -> None:
    """A refund of the order that redeemed the coupon is noted once per refund id; once the
    refunds add up to what the order paid, a template with ``return_on_refund`` gives the
    coupon back (if it has not expired), and the return is counted on its shard once."""
    shop, order = str(event.shop), event.order_id
    if coupon.return_pending == order:  # given back, its count not settled yet (a crash)
        _settle_return(s, shop, coupon, order)
        return
    if coupon.status != "redeemed" or coupon.order_id != order or event.refund is None:
        return
    template = s.templates.get(shop, coupon.template_id)
    if template is None or not template.return_on_refund:
        return
    amount = sum(line.amount for line in event.refund.lines)
    _, current = s.coupons.record_refund(shop, coupon, order, event.refund.refund_id, amount)
    current = current or s.coupons.get(shop, coupon.customer_id, coupon.coupon_id)
    if current is None or current.status != "redeemed" or current.order_id != order:
        return
    now = clock.now()
    if not domain.fully_refunded(current.refunds, order, current.order_paid_amount) or domain.is_expired(
        current, now
    ):
        return
    if current.count_pending:  # a crash before its redemption was counted: count it first
        settle_count(shop, current, s)
        current = s.coupons.get(shop, coupon.customer_id, coupon.coupon_id) or current
    expires = (
        clock.epoch(clock.parse(current.expires_at)) + domain.RETENTION_DAYS * 86400
        if current.expires_at
        else None
    )
    if s.coupons.give_back(shop, current, order, expires):
        if current.counted_by:  # the redemption's settled marker, if a crash left it on the shard
            s.stock.clear_redemption(shop, current, current.counted_by)
        _settle_return(s, shop, current, order)


def _settle_return(s: Stores, shop: str, coupon: Coupon, order: str) -> None:
    s.stock.count_return(shop, coupon, order)
    if s.coupons.settle_return(shop, coupon, order):
        s.stock.clear_return(shop, coupon, order)


def settle_count(shop: str, coupon: Coupon, stores: Stores | None = None) -> None:
    """Make the redemption of ``coupon`` (redeemed) counted on its stock shard exactly once
    (``store.stock`` explains the markers). Every step is conditional, so copies of the
    same event may run it at the same time, and a crash anywhere leaves a state the next
    delivery finishes.

    While ``count_pending`` is on the coupon, at most one count is on the shard (its marker
    blocks another), and it is the one the coupon then keeps (``counted_by``). After that, a
    marker other than ``counted_by`` can only be a late copy's surplus count: it is undone."""
    s = stores_or_default(stores)
    known: Coupon | None = coupon
    for _ in retry.attempts(ATTEMPTS, busy=f"the redemption count of {coupon.coupon_id} kept changing"):
        current = known or s.coupons.get(shop, coupon.customer_id, coupon.coupon_id)
        known = None
        if current is None or current.status != "redeemed":
            return
        marker = s.stock.redeem_marker(shop, current)
        if current.count_pending:
            if marker is None:
                attempt = uuid.uuid4().hex
                if not s.stock.count_redemption(shop, current, attempt):
                    continue  # another copy counted just now: look again
                marker = attempt
            if not s.coupons.settle(shop, current, marker):
                continue  # settled by another copy: look again (this count may be surplus)
            s.stock.clear_redemption(shop, current, marker)
            return
        if marker is None:
            return  # settled (or redeemed before counts were settled this way: counted then)
        if marker == current.counted_by:
            s.stock.clear_redemption(shop, current, marker)  # settled, marker left by a crash
        else:
            s.stock.undo_redemption(shop, current, marker)  # a late copy counted again
        return
