"""Segment definitions and the membership test of one profile.

A definition combines (all given parts must hold):
- ``tags``: ``any`` (at least one), ``all`` (every one), ``none`` (none of them);
- ``orders_count``, ``days_since_last_order``, ``paid_total_amount``: inclusive ranges
  ``{"min", "max"}`` (either may be left out; an inverted range is refused); a customer with no
  order has no last order, so never matches a ``days_since_last_order`` range;
- ``acquisition``: the first touch's ``channel``, ``referral_code``, ``distributor_code`` or
  ``share_link_id`` (each given one must equal);
- ``first_order``: an inclusive range of first-order days ``{"from", "to"}``.

Unknown fields are refused (``In``), so a typo never silently widens a segment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import Field, model_validator

from campaign_shared.types import Amount, Id, In
from chalicelib.audience.domain.profiles import DAY, Profile
from chalicelib.audience.domain.tags import check_tag

MAX_TAGS = 20


class AudienceRange(In):
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AudienceRange:
        low, high = self.min, self.max
        if low is not None and high is not None and low > high:
            raise ValueError("min must not exceed max")
        return self


class AudienceCountRange(AudienceRange):
    min: int | None = Field(default=None, ge=0, le=10**9)
    max: int | None = Field(default=None, ge=0, le=10**9)


class AudienceDaysRange(AudienceRange):
    min: int | None = Field(default=None, ge=0, le=36_500)
    max: int | None = Field(default=None, ge=0, le=36_500)


class AudienceAmountRange(AudienceRange):
    min: Amount | None = None
    max: Amount | None = None


class AudienceDayRange(In):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _dates(cls, data: object) -> object:
        # Dates arrive as JSON strings; strict mode would refuse them otherwise.
        if isinstance(data, dict):
            return {k: date.fromisoformat(v) if isinstance(v, str) else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> AudienceDayRange:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from must not be after to")
        return self


class AudienceTagRule(In):
    any: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    all: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    none: list[str] = Field(default_factory=list, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _names(self) -> AudienceTagRule:
        for tag in (*self.any, *self.all, *self.none):
            check_tag(tag)
        return self


class AudienceAcquisition(In):
    channel: Literal["referral", "distribution", "coupon_share", "direct"] | None = None
    referral_code: Id | None = None
    distributor_code: Id | None = None
    share_link_id: Id | None = None


class AudienceSegmentDefinition(In):
    tags: AudienceTagRule | None = None
    orders_count: AudienceCountRange | None = None
    days_since_last_order: AudienceDaysRange | None = None
    paid_total_amount: AudienceAmountRange | None = None
    acquisition: AudienceAcquisition | None = None
    first_order: AudienceDayRange | None = None


def _within(value: int, bounds: AudienceRange | None) -> bool:
    if bounds is None:
        return True
    low, high = bounds.min, bounds.max
    return (low is None or value >= low) and (high is None or value <= high)


def matches(profile: Profile, definition: AudienceSegmentDefinition, as_of: int) -> bool:
    """Whether ``profile`` is in the segment at the epoch second ``as_of``."""
    d = definition
    if d.tags is not None:
        if d.tags.any and not profile.tags & set(d.tags.any):
            return False
        if not set(d.tags.all) <= profile.tags or profile.tags & set(d.tags.none):
            return False
    if not _within(profile.orders_count, d.orders_count):
        return False
    if not _within(profile.paid_total_amount, d.paid_total_amount):
        return False
    if d.days_since_last_order is not None:
        if profile.last_order_at is None:
            return False
        if not _within((as_of - profile.last_order_at) // DAY, d.days_since_last_order):
            return False
    if d.acquisition is not None:
        touch = profile.first_touch
        if touch is None:
            return False
        wanted = d.acquisition
        pairs = (
            (wanted.channel, touch.channel),
            (wanted.referral_code, touch.referral_code),
            (wanted.distributor_code, touch.distributor_code),
            (wanted.share_link_id, touch.share_link_id),
        )
        if any(want is not None and want != have for want, have in pairs):
            return False
    if d.first_order is not None:
        if profile.first_order_at is None:
            return False
        first = datetime.fromtimestamp(profile.first_order_at, UTC).date()
        if (d.first_order.from_ and first < d.first_order.from_) or (
            d.first_order.to and first > d.first_order.to
        ):
            return False
    return True
