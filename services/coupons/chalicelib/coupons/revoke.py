"""``coupon.revoke``: take back a granted coupon that was never used.

The referral service revokes a reward whose converting order was fully refunded (or whose
referral turned out void). The message names the ``grant_id``; the grant record
(``store_jobs``) says which coupon that grant issued. The coupon is voided with one
conditional write, only while it is unused (stored ``available``, or ``expired``): its
status becomes ``revoked``, so ``GET /coupons/me`` shows it as revoked and validate and lock
refuse it (``not_available``). A coupon locked to an order or redeemed is left alone and the
answer is ``failed`` / ``coupon_used``; a grant that issued nothing is ``failed`` /
``not_issued``. Idempotent on the grant: a redelivered revoke finds the coupon ``revoked``
and answers ``revoked`` again. The answer goes to the queue named in ``reply_to``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from campaign_shared import clock, events, messaging
from campaign_shared.grants import CouponRevoke, CouponRevokeResult
from chalicelib.coupons import store

REVOKED = "revoked"
UNUSED = ("available", "expired")  # stored statuses a revoke may void (expired: unusable anyway)


def on_revoke(body: dict[str, Any]) -> None:
    """The queue handler: revoke, then answer the sender."""
    try:
        message = CouponRevoke.model_validate(body)
    except ValidationError as exc:
        raise events.PoisonMessage(f"malformed coupon.revoke: {exc.error_count()} errors") from None
    result = revoke(message)
    if message.reply_to:
        messaging.send(message.reply_to, result.model_dump(mode="json"))


def revoke(message: CouponRevoke) -> CouponRevokeResult:
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

    grant = store.get(store.grant_key(shop, message.grant_id))
    if grant is None or grant.get("status") != "issued" or grant.get("customer_id") != message.customer_id:
        return answer("failed", reason="not_issued")
    coupon_id = grant["coupon_id"]
    ok, old = store.update(
        store.coupon_key(shop, grant["customer_id"], coupon_id),
        "SET #st = :revoked, revoked_at = :now, revoke_reason = :reason",
        "attribute_exists(pk) AND (#st = :available OR #st = :expired)",
        names={"#st": "status"},
        values={
            "revoked": REVOKED,
            "now": clock.iso(clock.now()),
            "reason": message.reason,
            "available": UNUSED[0],
            "expired": UNUSED[1],
        },
    )
    if ok or old.get("status") == REVOKED:
        return answer(REVOKED, coupon_id=coupon_id)
    if not old:
        return answer("failed", coupon_id=coupon_id, reason="not_issued")
    return answer("failed", coupon_id=coupon_id, reason="coupon_used")
