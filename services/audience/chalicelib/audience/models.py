"""Request and response models of /audience (docs/API.md, audience section).

Class names carry the ``Audience`` prefix: OpenAPI components are global across services.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from campaign_shared.storage.paging import PageParams
from campaign_shared.types import Id, In, Out, Query
from chalicelib.audience.domain.segments import AudienceSegmentDefinition

# ---- profiles ---------------------------------------------------------------------------


class AudienceTouchOut(Out):
    channel: Literal["referral", "distribution", "coupon_share", "direct"]
    referral_code: str | None = None
    distributor_code: str | None = None
    share_link_id: str | None = None


class AudienceProfileOut(Out):
    customer_id: str
    orders_count: int
    first_order_at: str | None = None
    last_order_at: str | None = None
    paid_total_amount: int
    refunded_total_amount: int
    first_touch: AudienceTouchOut | None = None
    last_touch: AudienceTouchOut | None = None
    first_coupon_template_id: str | None = None
    tags: list[str]


# ---- reports ----------------------------------------------------------------------------

Dimension = Literal["channel", "referral_code", "distributor", "first_coupon_template", "first_order_month"]


class AudienceReportQuery(Query):
    from_: date = Field(alias="from", description="First day of the period (first orders), YYYY-MM-DD UTC.")
    to: date = Field(description="Last day of the period, inclusive; at most two years after from.")
    by: Dimension = "channel"


class AudienceReportRow(Out):
    key: str = Field(description="The dimension's value; (none) when the cohort has none.")
    customers: int = Field(description="Customers whose first paid order falls in the period.")
    first_orders: int = Field(description="First orders in the period (one per such customer).")
    orders: int = Field(description="Paid orders of these customers to date.")
    repeat_customers: int
    repurchase_30d_customers: int
    repurchase_60d_customers: int
    repurchase_90d_customers: int
    repurchase_30d_bps: int
    repurchase_60d_bps: int
    repurchase_90d_bps: int
    repurchase_rate_bps: int = Field(description="Customers with two or more orders, any time.")
    mean_days_between_orders: float | None = Field(
        description="Sum over customers of (last - first order) / sum of (orders - 1), in days."
    )
    gmv_amount: int = Field(description="What these customers' orders paid less refunds, minor units.")


class AudienceReportOut(Out):
    by: str
    first_day: str = Field(description="The period's first day (the query's from).")
    last_day: str = Field(description="The period's last day (the query's to).")
    items: list[AudienceReportRow]
    total: AudienceReportRow


__all__ = ["PageParams"]


# ---- tags -------------------------------------------------------------------------------

TagName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]+$"
    ),
]


class AudienceTagOut(Out):
    customer_id: str
    tag: str
    tagged: bool = Field(description="Whether the customer has the tag after the call.")
    changed: bool = Field(description="False when the customer already had (or did not have) it.")


class AudienceTagCount(Out):
    tag: str
    members: int


class AudienceTagList(Out):
    items: list[AudienceTagCount]
    next_cursor: str | None = None


class AudienceTagMemberList(Out):
    items: list[str] = Field(description="Customer ids.")
    next_cursor: str | None = None


class AudienceTagJobIn(In):
    tag: TagName
    customer_ids: list[Id] = Field(min_length=1, max_length=100_000)


class AudienceTagJobOut(Out):
    job_id: str
    tag: str
    status: Literal["running", "done"]
    total: int = Field(description="Distinct customer ids in the job.")
    processed: int
    tagged: int = Field(description="Customers the job tagged.")
    already_tagged: int = Field(description="Customers who had the tag before.")
    created_at: str


# ---- segments ---------------------------------------------------------------------------

SegmentName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class AudienceSegmentIn(In):
    name: SegmentName
    definition: AudienceSegmentDefinition


class AudienceSegmentOut(Out):
    segment_id: str
    name: str
    definition: dict[str, Any]
    created_at: str
    status: Literal["evaluating", "ready"] = Field(
        description="ready once a materialized snapshot exists (a later evaluation keeps it ready)."
    )
    size: int | None = Field(default=None, description="Members of the ready snapshot.")
    evaluated_at: str | None = Field(
        default=None, description="The time the ready snapshot was evaluated at."
    )


class AudienceSegmentList(Out):
    items: list[AudienceSegmentOut]
    next_cursor: str | None = None


class AudienceSegmentPreview(Out):
    segment_id: str
    status: Literal["evaluating", "ready"]
    size: int
    sample: list[str] = Field(description="Up to 20 member ids of the ready snapshot.")
    evaluated_at: str | None = None
    evaluating: bool = Field(description="True while a newer evaluation is under way.")


# ---- automations ------------------------------------------------------------------------


class AudienceRuleOut(Out):
    rule_id: str
    name: str
    trigger: dict[str, Any]
    delay_days: int
    template_id: str
    control_percent: int
    created_at: str


class AudienceRuleList(Out):
    items: list[AudienceRuleOut]
    next_cursor: str | None = None


class AudienceLiftQuery(Query):
    from_: date = Field(alias="from", description="First enrollment day, YYYY-MM-DD UTC.")
    to: date = Field(description="Last enrollment day, inclusive; at most two years after from.")


class AudienceLiftArm(Out):
    customers: int
    repurchasers: int = Field(description="Customers with an order after their enrollment.")
    repurchase_rate_bps: int
    gmv_amount: int = Field(description="What their orders after enrollment paid, less refunds.")
    gmv_per_customer_amount: int
    coupon_cost_amount: int = Field(description="Discounts of the orders that redeemed the rule's coupons.")


class AudienceLiftOut(Out):
    rule_id: str
    first_day: str
    last_day: str
    treatment: AudienceLiftArm
    control: AudienceLiftArm
    incremental_gmv_per_customer_amount: int | None
    incremental_gmv_amount: int | None = Field(description="Per-customer difference × treatment customers.")
    ci95_low_per_customer_amount: int | None
    ci95_high_per_customer_amount: int | None
    method: str
    verdict: Literal["significant_gain", "significant_loss", "not_significant_yet"]
