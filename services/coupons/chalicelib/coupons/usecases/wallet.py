"""A customer's coupons: claim one, the wallet (one Query), one coupon, validate a cart, lock
one to an order and unlock it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from campaign_shared import clock
from campaign_shared.errors import Conflict, NotFound
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import domain
from chalicelib.coupons.models import (
    CartCoupon,
    CouponOut,
    CouponPage,
    ForCartIn,
    ForCartOut,
    ValidateIn,
    ValidateOut,
)
from chalicelib.coupons.store.records import Coupon
from chalicelib.coupons.usecases import Stores, budgets, claims, stores_or_default

NOT_AVAILABLE_BECAUSE = {
    "locked": "the coupon is locked to another order",
    "redeemed": "the coupon has been used",
    "expired": "the coupon has expired",
    "revoked": "the coupon has been revoked",
    "gifting": "the coupon is being given to a friend",
    "gifted": "the coupon was given away",
}


def coupon_out(coupon: Coupon, now: datetime) -> CouponOut:
    return CouponOut(
        coupon_id=coupon.coupon_id,
        template_id=coupon.template_id,
        customer_id=coupon.customer_id,
        name=coupon.name,
        status=domain.visible_status(coupon, now),  # type: ignore[arg-type]
        kind=coupon.kind,  # type: ignore[arg-type]
        amount_off=coupon.amount_off,
        percent_off=coupon.percent_off,
        max_discount_amount=coupon.max_discount_amount,
        min_spend_amount=coupon.min_spend_amount,
        currency=coupon.currency,
        issued_at=coupon.issued_at,
        expires_at=coupon.expires_at,
        order_id=coupon.order_id,
        conflicts=list(coupon.conflicts),  # type: ignore[arg-type]
        gift=coupon.gift,  # type: ignore[arg-type]
    )


def claim(shop: str, template_id: str, customer_id: str, stores: Stores | None = None) -> CouponOut:
    return coupon_out(claims.claim(shop, template_id, customer_id, stores), clock.now())


def my_coupons(shop: str, customer_id: str, page: PageParams, stores: Stores | None = None) -> CouponPage:
    """The customer's coupons, oldest first: one Query, nothing else."""
    items, cursor = stores_or_default(stores).coupons.page(shop, customer_id, page)
    now = clock.now()
    return CouponPage(items=[coupon_out(c, now) for c in items], next_cursor=cursor)


def customer_coupons(
    shop: str, customer_id: str, page: PageParams, stores: Stores | None = None
) -> CouponPage:
    """A customer's coupons as the merchant sees them (with their conflicts)."""
    return my_coupons(shop, customer_id, page, stores)


def customer_coupon(shop: str, customer_id: str, coupon_id: str, stores: Stores | None = None) -> CouponOut:
    return coupon_out(_coupon_or_404(stores_or_default(stores), shop, customer_id, coupon_id), clock.now())


def _coupon_or_404(s: Stores, shop: str, customer_id: str, coupon_id: str) -> Coupon:
    coupon = s.coupons.get(shop, customer_id, coupon_id)
    if coupon is None:
        raise NotFound("no such coupon")
    return coupon


def validate(shop: str, customer_id: str, body: ValidateIn, stores: Stores | None = None) -> ValidateOut:
    s = stores_or_default(stores)
    coupon = _coupon_or_404(s, shop, customer_id, body.coupon_id)
    template = s.templates.get(shop, coupon.template_id)
    lines = [domain.Line(line.product_id, line.quantity, line.unit_amount) for line in body.lines]
    scope = template.product_ids if template is not None else None
    result = domain.evaluate(coupon, scope, lines, clock.now(), body.order_id)
    return ValidateOut(
        coupon_id=body.coupon_id,
        valid=result.valid,
        discount_amount=result.discount_amount,
        reason=result.reason,
        eligible_subtotal_amount=result.eligible_subtotal_amount,
    )


def for_cart(shop: str, customer_id: str, body: ForCartIn, stores: Stores | None = None) -> ForCartOut:
    """Every unspent coupon of the caller against one cart: the usable ones with their exact
    discount, best first, and the others with their reason. One Query of the wallet; the
    templates' product scopes come from the process's template cache."""
    s = stores_or_default(stores)
    now = clock.now()
    lines = [domain.Line(line.product_id, line.quantity, line.unit_amount) for line in body.lines]
    usable: list[CartCoupon] = []
    unusable: list[CartCoupon] = []
    scopes: dict[str, tuple[str, ...] | None] = {}  # the same scope validate applies
    for coupon in s.coupons.wallet(shop, customer_id):
        if coupon.status in domain.SPENT:
            continue
        if coupon.template_id not in scopes:
            template = s.templates.get(shop, coupon.template_id)
            scopes[coupon.template_id] = template.product_ids if template is not None else None
        result = domain.evaluate(coupon, scopes[coupon.template_id], lines, now, body.order_id)
        entry = CartCoupon(
            coupon=coupon_out(coupon, now),
            discount_amount=result.discount_amount,
            eligible_subtotal_amount=result.eligible_subtotal_amount,
            reason=result.reason,
        )
        (usable if result.valid else unusable).append(entry)
    order = domain.best_first([(c.coupon.coupon_id, c.discount_amount, c.coupon.expires_at) for c in usable])
    return ForCartOut(usable=[usable[n] for n in order], unusable=unusable)


LOCK_ATTEMPTS = 5  # re-reads when the coupon changes under a lock or an unlock; then 503


def lock(
    shop: str, customer_id: str, coupon_id: str, order_id: str, stores: Stores | None = None
) -> CouponOut:
    """Bind the coupon to one order for its lock time (``domain.campaign``); the same order
    again is a no-op, another is 409 while the lock runs; a template's budget that cannot
    hold the coupon's discount is 409 ``budget_exhausted``. Read, decide, then write only if
    the coupon is still as read."""
    s = stores_or_default(stores)
    for _ in retry.attempts(LOCK_ATTEMPTS, busy=f"coupon {coupon_id} kept changing; retry shortly"):
        coupon = _coupon_or_404(s, shop, customer_id, coupon_id)
        now = clock.now()
        decision = domain.lock_decision(coupon, order_id, now)
        if decision == domain.ALREADY_DONE:
            return coupon_out(coupon, now)
        if decision != domain.LOCK:
            raise Conflict(
                NOT_AVAILABLE_BECAUSE.get(decision, "the coupon cannot be used"), code="not_available"
            )
        shop_ttl = None if coupon.lock_ttl_seconds else s.settings.get(shop).lock_ttl_seconds
        until = domain.lock_expiry(now, domain.lock_ttl(coupon.lock_ttl_seconds, shop_ttl))
        template = s.templates.get(shop, coupon.template_id)
        held = None
        if template is not None and template.budget_amount is not None:
            held = budgets.hold(s, shop, template, coupon.coupon_id, domain.budget_hold(coupon), until)
            if held is None:
                raise domain.budget_refusal()
        applied, locked = s.coupons.lock(shop, coupon, order_id, clock.iso(now), clock.iso(until), held)
        if applied and locked is not None:
            return coupon_out(locked, now)
    raise AssertionError("unreachable")  # retry.attempts raises once it runs out


def unlock(shop: str, customer_id: str, coupon_id: str, stores: Stores | None = None) -> CouponOut:
    """Release the caller's lock on a coupon, whichever order holds it: it is available again
    (or expired). A coupon that is not locked is answered as it is; a used or revoked one is
    409 ``not_available``. An order paid later may still redeem it while it is available."""
    s = stores_or_default(stores)
    for _ in retry.attempts(LOCK_ATTEMPTS, busy=f"coupon {coupon_id} kept changing; retry shortly"):
        coupon = _coupon_or_404(s, shop, customer_id, coupon_id)
        now = clock.now()
        if coupon.status in domain.SPENT:
            raise Conflict(
                NOT_AVAILABLE_BECAUSE.get(coupon.status, "the coupon cannot be used"), code="not_available"
            )
        if coupon.status != "locked":
            return coupon_out(coupon, now)
        status = domain.status_after_release(coupon, now)
        if s.coupons.release(shop, customer_id, coupon_id, str(coupon.order_id), status):
            budgets.release(s, shop, coupon.template_id, coupon_id, coupon.budget_hold)
            return coupon_out(
                replace(coupon, status=status, order_id=None, locked_at=None, lock_expires_at=None), now
            )
    raise AssertionError("unreachable")
