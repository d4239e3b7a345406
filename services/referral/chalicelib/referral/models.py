"""Request and response models of /referral (API.md, referral section)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from campaign_shared.qr import QrQuery as QrQuery
from campaign_shared.storage.paging import PageParams
from campaign_shared.types import Amount, Id, In, Out, Quantity

# Codes are 10 lower-case base32 characters; people may type them in upper case. Anything
# id-like is accepted (an unknown code is a 404, not a 400); blanks and symbols are 400.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
# A storefront's visitor id (a cookie, an OpenID...): printable ASCII, no spaces.
VisitorId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
ChannelName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


# ---- program ---------------------------------------------------------------------------


class ProgramIn(In):
    referrer_template_id: Id
    referee_template_id: Id
    min_order_amount: Amount = 0
    max_rewards_per_referrer: Quantity | None = Field(
        default=None,
        description="At most this many rewards per referrer; the referrer template's per_customer_limit "
        "must allow at least as many (else 400).",
    )
    reward_hold_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="Hold rewards this many days after the converting order was paid (its refund "
        "window); a full refund within it cancels them. 0: grant at once.",
    )


class ProgramOut(Out):
    referrer_template_id: str
    referee_template_id: str
    min_order_amount: int
    max_rewards_per_referrer: int | None = None
    reward_hold_days: int = 0
    updated_at: str


# ---- codes and channels ------------------------------------------------------------------


class CodeOut(Out):
    code: str
    url: str


class ChannelIn(In):
    name: ChannelName


class ChannelOut(Out):
    channel_id: str
    code: str
    url: str
    name: str
    created_at: str


class ChannelList(Out):
    items: list[ChannelOut]
    next_cursor: str | None = None


class PublicCode(Out):
    shop: str
    code: str
    kind: Literal["customer", "channel"]


# ---- visits and signups ------------------------------------------------------------------


class VisitIn(In):
    code: Code
    visitor_id: VisitorId


class VisitOut(Out):
    code: str
    new_visitor: bool


class SignupIn(In):
    code: Code


class SignupOut(Out):
    code: str
    referrer_kind: Literal["customer", "channel"]
    channel_id: str | None = None
    bound_at: str


# ---- me --------------------------------------------------------------------------------


class RewardOut(Out):
    grant_id: str
    side: Literal["referrer", "referee"]
    template_id: str
    status: Literal[
        "held", "pending", "issued", "failed", "capped", "cancelled", "revoking", "revoked", "revoke_failed"
    ] = Field(description="See the README (referral rewards) for the life of a reward.")
    coupon_id: str | None = None
    reason: str | None = None
    order_id: str | None = None
    release_at: str | None = Field(default=None, description="A held reward: when its grant is sent.")
    created_at: str
    updated_at: str


class ReferredBy(Out):
    code: str
    kind: Literal["customer", "channel"]
    bound_at: str
    converted: bool


class MeOut(Out):
    code: str | None = None
    url: str | None = None
    referred_count: int = 0
    converted_count: int = 0
    rewards: list[RewardOut] = Field(default_factory=list)
    referred_by: ReferredBy | None = None


# ---- report ----------------------------------------------------------------------------


class ReportQuery(PageParams):
    """Paging as every list, and optional filters: one ``code``, one ``channel_id``, or a ``kind``."""

    code: Code | None = None
    channel_id: Id | None = None
    kind: Literal["customer", "channel"] | None = None


class Refusals(Out):
    self_referral: int = 0
    already_referred: int = 0
    not_new_customer: int = Field(
        default=0,
        description="Refused signups of customers with an order, and signups voided when an order "
        "placed before the signup arrived later.",
    )
    mutual_referral: int = Field(
        default=0, description="Signups with the code of someone the caller referred."
    )


class ReportRow(Out):
    code: str
    kind: Literal["customer", "channel"]
    channel_id: str | None = None
    channel_name: str | None = None
    customer_id: str | None = None
    visits: int
    unique_visitors: int
    signups: int
    first_orders: int
    repeat_customers: int
    gmv_amount: int
    repurchase_rate_bps: int
    conversions: int
    refusals: Refusals


class ReportOut(Out):
    items: list[ReportRow]
    next_cursor: str | None = None
