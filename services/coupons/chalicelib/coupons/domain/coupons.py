"""Coupon rules, pure: no boto3, no HTTP. Money is integer minor units.

Discount rounding (written down once, here):

- ``amount_off`` and ``lucky``: the coupon's amount, capped at the in-scope subtotal.
- ``percent_off``: ``floor(subtotal * percent / 100)`` (``money.apply_bps`` with
  ``percent * 100`` basis points), then capped at ``max_discount_amount`` when set.
  Rounding is floor: a customer never gets a fraction of a fen more than the rate says.
- The in-scope subtotal is ``sum(quantity * unit_amount)`` over lines whose product is in
  the template's ``product_ids`` (every line when the template has no scope).
  ``min_spend_amount`` (满减) is compared with that in-scope subtotal.
- A discount is never negative and never more than the in-scope subtotal.

Lucky packs: ``split_lucky(total, count)`` draws ``count`` amounts, each at least 1, that
add up to exactly ``total``: the cut points of a uniformly random composition. The draw
happens once, when the template is created; the amounts are stored, and the n-th unit of
stock always carries the n-th amount, so every coupon's amount can be audited.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from campaign_shared import money
from campaign_shared.errors import Conflict, InvalidRequest
from chalicelib.coupons.domain.campaign import lock_lapsed, window_state
from chalicelib.coupons.domain.gifts import gift_lapsed
from chalicelib.coupons.domain.terms import CouponTerms, TemplateTerms

LUCKY_CHUNK = 1000  # lucky amounts stored per item (about 5 KB)
RETENTION_DAYS = 90  # how long an expired, unused coupon is kept before TTL cleans it up

# Reasons a coupon does not apply to a cart (validate).
NOT_AVAILABLE = "not_available"
EXPIRED = "expired"
OUT_OF_SCOPE = "out_of_scope"
BELOW_MIN_SPEND = "below_min_spend"


# ---- templates ------------------------------------------------------------------------


def check_new_template(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> None:
    """Time rules that need "now" (the model checks the rest)."""
    if valid_until is not None and valid_until <= now:
        raise InvalidRequest(
            "valid_until is in the past",
            details=[{"loc": ["body", "valid_until"], "msg": "must be in the future"}],
        )


def require_active(template: TemplateTerms, now: datetime) -> None:
    state = window_state(template, now)
    if state == "scheduled":
        raise Conflict("this coupon cannot be claimed yet", code="not_active")
    if state == "ended":
        raise Conflict("this coupon can no longer be claimed", code="not_active")


def coupon_expiry(template: TemplateTerms, issued_at: datetime) -> datetime | None:
    """``valid_days`` after the claim when set; otherwise the end of the template's window
    (``None``: the coupon never expires)."""
    if template.valid_days:
        return issued_at + timedelta(days=int(template.valid_days))
    end = template.valid_until
    return _parse(end) if end is not None else None


def shard_caps(total_stock: int, shards: int) -> list[int]:
    """How many units each stock shard holds: as even as possible, never an empty shard."""
    count = max(1, min(shards, total_stock))
    base, extra = divmod(total_stock, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def shard_starts(caps: list[int]) -> list[int]:
    """The global slot number of each shard's first unit (lucky amounts are indexed by slot)."""
    starts, running = [], 0
    for cap in caps:
        starts.append(running)
        running += cap
    return starts


def split_lucky(total: int, count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` random amounts, each >= 1, summing to exactly ``total``."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if total < count:
        raise ValueError("total must be at least count (every amount is at least 1)")
    rng = rng or random.SystemRandom()
    cuts = sorted(rng.sample(range(1, total), count - 1)) if count > 1 else []
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(count)]


def lucky_chunks(amounts: list[int]) -> list[list[int]]:
    return [amounts[i : i + LUCKY_CHUNK] for i in range(0, len(amounts), LUCKY_CHUNK)]


def lucky_position(slot: int) -> tuple[int, int]:
    """(chunk number, offset in the chunk) of a global slot."""
    return divmod(slot, LUCKY_CHUNK)


# ---- coupons ---------------------------------------------------------------------------


def new_coupon(
    template: TemplateTerms,
    *,
    coupon_id: str,
    customer_id: str,
    issued_at: datetime,
    shard: int,
    slot: int,
    lucky_amount: int | None,
    source: str,
    share_link_id: str | None = None,
) -> dict[str, Any]:
    """The fields of a new coupon: the template's discount terms copied at issue (a lucky
    coupon carries its drawn amount in ``amount_off``)."""
    from campaign_shared import clock

    expires = coupon_expiry(template, issued_at)
    kind = template.kind
    coupon: dict[str, Any] = {
        "coupon_id": coupon_id,
        "template_id": template.template_id,
        "customer_id": customer_id,
        "name": template.name,
        "kind": kind,
        "amount_off": lucky_amount if kind == "lucky" else template.amount_off,
        "percent_off": template.percent_off,
        "max_discount_amount": template.max_discount_amount,
        "min_spend_amount": template.min_spend_amount,
        "currency": template.currency,
        "status": "available",
        "issued_at": clock.iso(issued_at),
        "expires_at": clock.iso(expires) if expires else None,
        "shard": shard,
        "slot": slot,
        "source": source,
        "lock_ttl_seconds": template.lock_ttl_seconds,
        "share_link_id": share_link_id,
    }
    if expires is not None:
        coupon["expires_at_epoch"] = clock.epoch(expires) + RETENTION_DAYS * 86400
    return coupon


def is_expired(coupon: CouponTerms, now: datetime) -> bool:
    expires = coupon.expires_at
    return expires is not None and now >= _parse(expires)


def visible_status(coupon: CouponTerms, now: datetime) -> str:
    """The status a reader sees. An ``available`` coupon past its expiry is ``expired`` (TTL
    only cleans up). A ``locked`` coupon stays ``locked`` while its lock runs: its order is in
    flight, and the order's payment redeems it, its cancellation releases it. A lapsed lock
    (``campaign.lock_lapsed``) and an expired gift (``gifts.gift_lapsed``) read as
    ``available`` (or ``expired``); a lock that lapsed on a coupon an invalidation marked to
    be voided on release reads ``invalidated``."""
    status = coupon.status
    if status == "locked" and lock_lapsed(coupon, now) and coupon.void_on_release:
        return "invalidated"
    if (status == "locked" and lock_lapsed(coupon, now)) or gift_lapsed(coupon, now):
        status = "available"
    if status == "available" and is_expired(coupon, now):
        return "expired"
    return str(status)


def status_after_release(coupon: CouponTerms, now: datetime) -> str:
    """What a released lock leaves: ``invalidated`` if an invalidation marked the coupon
    while it was locked, else ``expired`` or ``available``."""
    if coupon.void_on_release:
        return "invalidated"
    return "expired" if is_expired(coupon, now) else "available"


# What an ``order.paid`` naming a coupon does: redeem it, nothing (this order already did),
# or record a conflict on the coupon (the merchant sees it there) and leave it as it is.
REDEEM = "redeem"
ALREADY_DONE = "done"
CONFLICT_LOCKED = "locked_to_another_order"
CONFLICT_REDEEMED = "already_redeemed"
CONFLICT_EXPIRED = "expired"
CONFLICT_NOT_AVAILABLE = "not_available"  # revoked, invalidated, given away, or being given
CONFLICT_BUDGET = "budget_exhausted"  # paid without a lock when the template's budget was used up
MAX_CONFLICTS = 20  # kept per coupon (the first ones); later conflicts are only logged


def paid_decision(coupon: CouponTerms, order_id: str, paid_at: datetime) -> str:
    """``REDEEM``, ``ALREADY_DONE`` or a conflict code, for ``order_id`` paid at ``paid_at``.

    A coupon locked to another order stays theirs; a redeemed one stays redeemed. One that
    had expired when the order was paid is not redeemed, even if this order locked it
    earlier (the lock is then released, to ``expired``). An available coupon, or one locked
    to this very order, is redeemed: a cancellation delivered before the payment released
    it, and the payment still used it. A coupon whose lock to another order has lapsed
    counts as available."""
    status, holder = coupon.status, coupon.order_id
    if order_id in coupon.returned_from:  # this order was refunded in full: a late copy of its payment
        return ALREADY_DONE
    if status == "redeemed":
        return ALREADY_DONE if holder == order_id else CONFLICT_REDEEMED
    if status in ("revoked", "gifted", "invalidated") or (
        status == "gifting" and not gift_lapsed(coupon, paid_at)
    ):
        return CONFLICT_NOT_AVAILABLE
    if status == "locked" and holder != order_id and visible_status(coupon, paid_at) == "invalidated":
        return CONFLICT_NOT_AVAILABLE
    if status == "locked" and holder != order_id and not lock_lapsed(coupon, paid_at):
        return CONFLICT_LOCKED
    if status == "expired" or is_expired(coupon, paid_at):
        return CONFLICT_EXPIRED
    return REDEEM


LOCK = "lock"


def lock_decision(coupon: CouponTerms, order_id: str, now: datetime) -> str:
    """What locking ``coupon`` to ``order_id`` does: ``LOCK`` (it is available, or its lock
    lapsed), ``ALREADY_DONE`` (locked to this order and the lock runs, or redeemed by it),
    or the status that refuses it (``locked``, ``redeemed``, ``expired``, ``revoked``)."""
    status = coupon.status
    if status == "redeemed" and coupon.order_id == order_id:
        return ALREADY_DONE
    if status == "locked" and coupon.order_id == order_id and not lock_lapsed(coupon, now):
        return ALREADY_DONE
    seen = visible_status(coupon, now)
    return LOCK if seen == "available" else seen


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True)
class Evaluation:
    valid: bool
    discount_amount: int
    reason: str | None
    eligible_subtotal_amount: int


def in_scope_subtotal(lines: list[Line], product_ids: Sequence[str] | None) -> tuple[int, int]:
    """(subtotal of in-scope lines, number of in-scope lines)."""
    scope = set(product_ids) if product_ids else None
    chosen = [line for line in lines if scope is None or line.product_id in scope]
    return sum(line.quantity * line.unit_amount for line in chosen), len(chosen)


def discount_for(coupon: CouponTerms, subtotal: int) -> int:
    """The discount on an in-scope subtotal (rounding: floor), 0 <= result <= subtotal."""
    if subtotal <= 0:
        return 0
    if coupon.kind == "percent_off":
        amount = money.apply_bps(subtotal, int(coupon.percent_off or 0) * 100)
        cap = coupon.max_discount_amount
        if cap is not None:
            amount = min(amount, int(cap))
    else:
        amount = int(coupon.amount_off or 0)
    return max(0, min(amount, subtotal))


def evaluate(
    coupon: CouponTerms,
    product_ids: Sequence[str] | None,
    lines: list[Line],
    now: datetime,
    order_id: str | None = None,
) -> Evaluation:
    """Whether ``coupon`` applies to a cart, and the discount if it does."""
    subtotal, in_scope = in_scope_subtotal(lines, product_ids)

    def refuse(reason: str) -> Evaluation:
        return Evaluation(False, 0, reason, subtotal)

    status = visible_status(coupon, now)
    locked_here = status == "locked" and order_id is not None and coupon.order_id == order_id
    if status == "expired":
        return refuse(EXPIRED)
    if status != "available" and not locked_here:
        return refuse(NOT_AVAILABLE)
    if in_scope == 0:
        return refuse(OUT_OF_SCOPE)
    if subtotal < int(coupon.min_spend_amount or 0):
        return refuse(BELOW_MIN_SPEND)
    return Evaluation(True, discount_for(coupon, subtotal), None, subtotal)


SPENT = frozenset({"redeemed", "revoked", "gifted", "invalidated"})


def fully_refunded(refunds: dict[str, int], order_id: str, paid_amount: int | None) -> bool:
    """The refunds noted for ``order_id`` (``"<order>:<refund id>"`` -> amount) add up to what
    it paid. An order whose paid amount is unknown (redeemed before it was recorded) is never
    taken as fully refunded."""
    if not paid_amount:
        return False
    prefix = f"{order_id}:"
    return sum(v for k, v in refunds.items() if k.startswith(prefix)) >= paid_amount


def best_first(usable: Sequence[tuple[str, int, str | None]]) -> list[int]:
    """The order of usable coupons ``(coupon_id, discount, expires_at)``, as positions: the
    largest discount first; of equal discounts, the one that expires soonest (a coupon that
    never expires last), then by id so the order is stable."""
    far = "9999"
    return sorted(range(len(usable)), key=lambda n: (-usable[n][1], usable[n][2] or far, usable[n][0]))


def _parse(text: str) -> datetime:
    from campaign_shared import clock

    return clock.parse(text)
