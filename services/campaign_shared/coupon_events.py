"""Messages the coupons service publishes about coupons, on the ``coupon-events`` topic.

``coupon.redeemed``: a coupon was redeemed by a paid order (published once per coupon by the
coupons service; a consumer must still treat it as at-least-once and unordered: it may arrive
before or after the order's ``order.paid``, and twice). It carries what other services join on
the order: the template, the share link the coupon was claimed through (if any), the grant that
issued it (if any: a referral reward, an audience automation) and the discount it gave.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from campaign_shared.types import Amount, Id, Timestamp

TOPIC = "coupon-events"


class CouponRedeemed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["coupon.redeemed"] = "coupon.redeemed"
    event_id: Id
    shop: Id
    customer_id: Id
    order_id: Id
    coupon_id: Id
    template_id: Id
    share_link_id: Id | None = None
    grant_id: Id | None = None
    discount_amount: Amount
    occurred_at: Timestamp
