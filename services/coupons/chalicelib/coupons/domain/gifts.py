"""Gifting a coupon to a friend (转赠), pure.

- Only a coupon of a ``giftable`` template, ``available`` (not locked to a running order, not
  expired), can be given; it is then ``gifting``: it cannot be locked or used while the gift
  is open. The gift expires after ``expires_in_seconds`` (default 24 h, at most 7 days):
  then the coupon reads ``available`` again, like a lapsed lock.
- A friend accepts once: of concurrent accepts one wins. The giver's coupon ends ``gifted``
  and a copy with the same terms and expiry becomes the friend's (a new coupon id). A gift
  does not count toward the receiver's ``per_customer_limit``: it was counted when the giver
  claimed it, and the giver's count stays (the giver gave it away; they do not claim again).
- The giver may cancel an open gift: the coupon is ``available`` again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign_shared.errors import Conflict
from chalicelib.coupons.domain.terms import CouponTerms

DEFAULT_GIFT_SECONDS = 86_400
MAX_GIFT_SECONDS = 7 * 86_400


def _parse(text: str) -> datetime:
    from campaign_shared import clock

    return clock.parse(text)


def gift_lapsed(coupon: CouponTerms, now: datetime) -> bool:
    until = coupon.gift_expires_at
    return coupon.status == "gifting" and until is not None and now >= _parse(until)


def gift_expiry(now: datetime, seconds: int | None) -> datetime:
    return now + timedelta(seconds=seconds or DEFAULT_GIFT_SECONDS)


def require_giftable(giftable: bool, visible: str) -> None:
    """409 unless the coupon may be given now (``visible``: its status as a reader sees it)."""
    if not giftable:
        raise Conflict("coupons of this template cannot be given away", code="not_giftable")
    if visible != "available":
        raise Conflict(f"a coupon that is {visible} cannot be given away", code="not_available")


def accept_refusal(
    status: str, giver: str, receiver: str | None, friend: str, expired: bool
) -> Conflict | None:
    """Why ``friend`` may not accept a gift in ``status``; None when they may (or did)."""
    if friend == giver:
        return Conflict("you cannot accept your own gift", code="own_gift")
    if status == "cancelled":
        return Conflict("the gift was cancelled", code="gift_cancelled")
    if status == "accepted":
        return None if receiver == friend else Conflict("someone accepted this gift first", code="gift_taken")
    if expired:
        return Conflict("the gift has expired", code="gift_expired")
    return None
