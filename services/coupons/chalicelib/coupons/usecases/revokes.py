"""``coupon.revoke``: take back a granted coupon that was never used.

The referral service revokes a reward whose converting order was fully refunded (or whose
referral turned out void). The message names the ``grant_id``; the grant record says which
coupon that grant issued. The coupon is voided with one conditional write, only while it is
unused (stored ``available`` or ``expired``, or held by a lock or a gift that has lapsed):
its status becomes ``revoked``, so
``GET /coupons/me`` shows it as revoked and validate and lock refuse it (``not_available``).
A coupon locked to a running order, offered in an open gift, or redeemed is left alone and
the answer is ``failed`` / ``coupon_used``; a grant that issued nothing is ``failed`` /
``not_issued``. Idempotent on the grant: a redelivered revoke finds the coupon ``revoked``
and answers ``revoked`` again.
"""

from __future__ import annotations

from campaign_shared import clock
from campaign_shared.grants import CouponRevoke, CouponRevokeResult
from chalicelib.coupons.usecases import Stores, stores_or_default

REVOKED = "revoked"


def revoke(message: CouponRevoke, stores: Stores | None = None) -> CouponRevokeResult:
    s = stores_or_default(stores)
    shop = message.shop

    def answer(status: str, coupon_id: str | None = None, reason: str | None = None) -> CouponRevokeResult:
        return CouponRevokeResult(
            grant_id=message.grant_id,
            shop=shop,
            customer_id=message.customer_id,
            status=status,  # type: ignore[arg-type]
            coupon_id=coupon_id,
            reason=reason,
        )

    grant = s.grants.get(shop, message.grant_id)
    if grant is None or grant.status != "issued" or grant.customer_id != message.customer_id:
        return answer("failed", reason="not_issued")
    applied, old = s.coupons.revoke(
        shop, grant.customer_id, grant.coupon_id, clock.iso(clock.now()), message.reason
    )
    if applied or (old is not None and old.status == REVOKED):
        return answer(REVOKED, coupon_id=grant.coupon_id)
    if old is None:
        return answer("failed", coupon_id=grant.coupon_id, reason="not_issued")
    return answer("failed", coupon_id=grant.coupon_id, reason="coupon_used")
