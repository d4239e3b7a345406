"""The coupons service's templates, read-only: a GetItem on the coupons table by the key that
table publishes (``resources.coupons.template_key``), projected to what a program checks."""

from __future__ import annotations

from campaign_shared import aws
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import codec
from chalicelib.referral.store.records import CouponTemplate


class TemplatesRepository:
    def get(self, shop: str, template_id: str) -> CouponTemplate | None:
        """The template, or None; ``per_customer_limit`` defaults to 1 as in the coupons API."""
        from campaign_shared.resources.coupons import template_key

        response = aws.dynamodb().get_item(
            TableName=table_name(get_settings().stage, "coupons", "main"),
            Key=codec.to_item(template_key(shop, template_id)),
            ProjectionExpression="pk, per_customer_limit",
        )
        item = codec.from_item(response.get("Item"))
        return CouponTemplate.from_item(item) if item is not None else None
