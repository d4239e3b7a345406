"""Messages between services about coupon grants (referral rewards -> coupons -> back).

The referral service (rewards) and the audience service (automations) send a
``coupon.grant`` to the coupons queue; the coupons service issues exactly one coupon per
``grant_id`` (a redelivered grant returns the same coupon) and answers with a
``coupon.grant_result`` on the queue named in ``reply_to``, so a sold-out template is
recorded as a failed reward with its reason, never silently lost.

A granted coupon can be taken back: the referral service sends a ``coupon.revoke`` naming
the ``grant_id`` (when the order that earned the reward is fully refunded, or the referral
turns out void). The coupons service voids that grant's coupon only while it is unused
(``available``: its status becomes ``revoked``) and answers with a ``coupon.revoke_result``:
``revoked``, or ``failed`` with a reason (``coupon_used`` when it is locked to an order or
redeemed, ``not_issued`` when that grant issued no coupon). One revoke per grant: a
redelivered or repeated revoke of the same ``grant_id`` answers the same.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from campaign_shared.events import Id

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CouponGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.grant"] = "coupon.grant"
    grant_id: Id
    shop: Id
    template_id: Id
    customer_id: Id
    # The service whose main queue gets the ``coupon.grant_result``.
    reply_to: Literal["referral", "audience"] | None = None


class CouponGrantResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.grant_result"] = "coupon.grant_result"
    grant_id: Id
    shop: Id
    customer_id: Id
    template_id: Id
    status: Literal["issued", "failed"]
    coupon_id: str | None = None
    reason: str | None = None


class CouponRevoke(BaseModel):
    """Void the coupon issued for ``grant_id`` if it is still unused (idempotent on the grant)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.revoke"] = "coupon.revoke"
    grant_id: Id
    shop: Id
    customer_id: Id
    reason: Reason
    reply_to: Literal["referral"] | None = None


class CouponRevokeResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.revoke_result"] = "coupon.revoke_result"
    grant_id: Id
    shop: Id
    customer_id: Id
    status: Literal["revoked", "failed"]
    coupon_id: str | None = None
    reason: str | None = None
