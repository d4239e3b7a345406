"""Gifting (转赠): rules in ``domain.gifts``.

- **Give**: the giver's coupon goes ``gifting`` (conditional on it being as read: available,
  not expired), then the gift record is written. A crash in between leaves a coupon
  ``gifting`` in a gift nobody can accept (it has no record): the giver may give it again at
  once, and it reads ``available`` once that gift's time is up.
- **Accept**: the gift record goes ``accepted`` by the first friend (one conditional write:
  of concurrent accepts one wins). Then the giver's coupon goes ``gifted`` (only from
  ``gifting`` in this gift), and only then is the friend's coupon written: a coupon is never
  usable by both. The friend asking again finishes whatever a crash left.
- **Cancel**: the gift goes ``cancelled`` (no accept can win after that), then the coupon
  goes back to ``available``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, Forbidden, NotFound
from campaign_shared.settings import public_url
from chalicelib.coupons import domain
from chalicelib.coupons.domain import gifts as rules
from chalicelib.coupons.models import CouponOut, GiftIn, GiftOut, PublicGift
from chalicelib.coupons.store.records import Coupon, Gift
from chalicelib.coupons.usecases import Stores, stores_or_default
from chalicelib.coupons.usecases.wallet import coupon_out


def _view(gift: Gift) -> dict[str, Any]:
    """The gift as both coupons show it."""
    return {
        "gift_id": gift.gift_id,
        "status": gift.status,
        "from_customer_id": gift.giver,
        "to_customer_id": gift.receiver,
        "created_at": gift.created_at,
        "expires_at": gift.expires_at,
        "accepted_at": gift.accepted_at,
    }


def _out(shop: str, gift: Gift) -> GiftOut:
    return GiftOut.model_validate(
        {
            **_view(gift),
            "coupon_id": gift.coupon_id,
            "url": public_url(f"/coupons/g/{shop}/{gift.gift_id}"),
            "accept_path": f"/coupons/gifts/{gift.gift_id}/accept",
        }
    )


def give(shop: str, giver: str, coupon_id: str, body: GiftIn, stores: Stores | None = None) -> GiftOut:
    s = stores_or_default(stores)
    coupon = s.coupons.get(shop, giver, coupon_id)
    if coupon is None:
        raise NotFound("no such coupon")
    now = clock.now()
    template = s.templates.get(shop, coupon.template_id)
    visible = domain.visible_status(coupon, now)
    if visible == "gifting" and s.gifts.get(shop, str((coupon.gift or {}).get("gift_id"))) is None:
        visible = "available"  # a give that crashed before its gift was written: nobody holds it
    rules.require_giftable(bool(template and template.giftable), visible)
    expires = rules.gift_expiry(now, body.expires_in_seconds)
    gift = Gift(
        gift_id=f"gf-{ids.token(18)}",
        coupon_id=coupon_id,
        giver=giver,
        template_id=coupon.template_id,
        created_at=clock.iso(now),
        expires_at=clock.iso(expires),
        new_coupon_id=ids.new_id("cp-"),
    )
    started, current = s.coupons.start_gift(shop, coupon, _view(gift), gift.expires_at, clock.iso(now))
    if not started:
        seen = domain.visible_status(current, now) if current else "gone"
        raise Conflict(f"the coupon changed meanwhile (it is {seen}); try again", code="not_available")
    s.gifts.create(shop, gift)
    return _out(shop, gift)


def _gift_or_404(s: Stores, shop: str, gift_id: str) -> Gift:
    gift = s.gifts.get(shop, gift_id)
    if gift is None:
        raise NotFound("no such gift")
    return gift


def get(shop: str, gift_id: str, caller: str, stores: Stores | None = None) -> GiftOut:
    """The gift, for its giver (and its receiver once accepted)."""
    s = stores_or_default(stores)
    gift = _gift_or_404(s, shop, gift_id)
    if caller not in (gift.giver, gift.receiver):
        raise NotFound("no such gift")
    return _out(shop, gift)


def accept(shop: str, gift_id: str, friend: str, stores: Stores | None = None) -> CouponOut:
    s = stores_or_default(stores)
    gift = _gift_or_404(s, shop, gift_id)
    now = clock.now()
    expired = now >= clock.parse(gift.expires_at)
    refusal = rules.accept_refusal(gift.status, gift.giver, gift.receiver, friend, expired)
    if refusal is not None:
        raise refusal
    if gift.status == "open":
        won, current = s.gifts.accept(shop, gift_id, friend, clock.iso(now))
        if not won:  # cancelled, taken or expired meanwhile
            current = current or gift
            late = rules.accept_refusal(current.status, current.giver, current.receiver, friend, True)
            raise late or Conflict("the gift is no longer open", code="gift_expired")
        gift = current or gift
    accepted = dataclasses.replace(
        gift, status="accepted", receiver=friend, accepted_at=gift.accepted_at or clock.iso(now)
    )
    source = s.coupons.get(shop, gift.giver, gift.coupon_id)
    if source is None:
        raise NotFound("the gifted coupon is gone")
    if not s.coupons.end_gift(shop, gift.giver, gift.coupon_id, gift_id, "gifted", _view(accepted)):
        # The giver's coupon left this gift before the accept landed (its time ran out and it
        # was used or given again): the friend gets nothing rather than a second coupon.
        raise Conflict("the gift has expired", code="gift_expired")
    received = dataclasses.replace(
        source,
        coupon_id=gift.new_coupon_id,
        customer_id=friend,
        status="available",
        source="gift",
        gift=_view(accepted),
        gift_expires_at=None,
        order_id=None,
        locked_at=None,
        lock_expires_at=None,
        conflicts=(),
        conflict_events=frozenset(),
        count_pending=False,
        counted_by=None,
        share_link_id=None,
    )
    if not s.coupons.create(shop, received):
        received = s.coupons.get(shop, friend, gift.new_coupon_id) or received
    return coupon_out(received, now)


def cancel(shop: str, gift_id: str, caller: str, stores: Stores | None = None) -> GiftOut:
    s = stores_or_default(stores)
    gift = _gift_or_404(s, shop, gift_id)
    if caller != gift.giver:
        raise (
            Forbidden("only the giver can cancel a gift")
            if caller == gift.receiver
            else NotFound("no such gift")
        )
    if gift.status == "accepted":
        raise Conflict("the gift was accepted already", code="gift_taken")
    cancelled, current = s.gifts.cancel(shop, gift_id)
    if not cancelled:
        raise Conflict("the gift was accepted already", code="gift_taken")
    gift = current or dataclasses.replace(gift, status="cancelled")
    back = _restore(s, shop, gift)
    if back is not None:
        gift = dataclasses.replace(gift, status="cancelled")
    return _out(shop, gift)


def _restore(s: Stores, shop: str, gift: Gift) -> Coupon | None:
    """The giver's coupon back to ``available`` after a cancel (nothing if it left the gift)."""
    s.coupons.end_gift(shop, gift.giver, gift.coupon_id, gift.gift_id, "available", _view(gift))
    return s.coupons.get(shop, gift.giver, gift.coupon_id)


def public(shop: str, gift_id: str, stores: Stores | None = None) -> PublicGift:
    s = stores_or_default(stores)
    gift = _gift_or_404(s, shop, gift_id)
    coupon = s.coupons.get(shop, gift.giver, gift.coupon_id)
    if coupon is None:
        raise NotFound("no such gift")
    expired = gift.status == "open" and clock.now() >= clock.parse(gift.expires_at)
    return PublicGift.model_validate(
        {
            **coupon.to_item(),
            "shop": shop,
            "gift_id": gift_id,
            "status": "expired" if expired else gift.status,
            "expires_at": gift.expires_at,
            "coupon_expires_at": coupon.expires_at,
            "accept_path": f"/coupons/gifts/{gift_id}/accept",
        }
    )
