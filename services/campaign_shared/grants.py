"""Messages between services about coupon grants (referral rewards -> coupons -> back).

The referral service sends a ``coupon.grant`` to the coupons queue; the coupons service
issues exactly one coupon per ``grant_id`` (a redelivered grant returns the same coupon)
and answers with a ``coupon.grant_result`` on the queue named in ``reply_to``, so a sold-out
template is recorded as a failed reward with its reason, never silently lost.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from campaign_shared.events import Id


class CouponGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.grant"] = "coupon.grant"
    grant_id: Id
    shop: Id
    template_id: Id
    customer_id: Id
    reply_to: Literal["referral"] | None = None


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
