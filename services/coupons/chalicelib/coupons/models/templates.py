"""Templates: create, edit, list, history, lucky amounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from campaign_shared.storage.paging import PageParams
from campaign_shared.types import Amount, Currency, Id, In, Out, PositiveAmount
from chalicelib.coupons.models.common import (
    MAX_LUCKY_STOCK,
    MAX_STOCK,
    MAX_STOCK_SHARDS,
    Kind,
    TemplateStatus,
    Time,
)

# ---- templates --------------------------------------------------------------------------


class TemplateIn(In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Kind
    amount_off: PositiveAmount | None = None
    percent_off: Annotated[int, Field(ge=1, le=99)] | None = None
    max_discount_amount: PositiveAmount | None = None
    lucky_total_amount: PositiveAmount | None = None
    min_spend_amount: Amount = 0
    total_stock: Annotated[int, Field(ge=1, le=MAX_STOCK)]
    per_customer_limit: Annotated[int, Field(ge=1, le=100)] = 1
    valid_from: Time | None = None
    valid_until: Time | None = None
    valid_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    product_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] | None = None
    currency: Currency = "CNY"
    stock_shards: Annotated[int, Field(ge=1, le=MAX_STOCK_SHARDS)] | None = Field(
        default=None,
        description="Stock shards (partitions) of this template; by default sized from "
        "expected_peak_claims_per_second, else the stack's setting. Never more than total_stock.",
    )
    expected_peak_claims_per_second: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None,
        description="The peak claim rate the flash grab should take: sizes stock_shards (250 claims/s "
        f"per shard, at most {MAX_STOCK_SHARDS} shards) when stock_shards is not given.",
    )
    lock_ttl_seconds: Annotated[int, Field(ge=60, le=7 * 86400)] | None = Field(
        default=None,
        description="How long a lock to an order holds without order.paid or order.cancelled "
        "(default: the shop's setting, else 1,800): then the coupon is available again.",
    )
    giftable: bool = Field(default=False, description="Its coupons can be given to a friend (转赠).")
    return_on_refund: bool = Field(
        default=False,
        description="A coupon whose order is refunded in full comes back to its owner, if still valid.",
    )
    budget_amount: PositiveAmount | None = Field(
        default=None,
        description="Caps the total discount of its redemptions: each lock holds the coupon's largest "
        "discount (a percent_off template needs max_discount_amount), a lock beyond it is 409 "
        "budget_exhausted, a release gives it back, a redemption keeps what it really took.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TemplateIn:
        fields = {
            "amount_off": {"amount_off"},
            "percent_off": {"percent_off", "max_discount_amount"},
            "lucky": {"lucky_total_amount"},
        }
        required = {"amount_off": "amount_off", "percent_off": "percent_off", "lucky": "lucky_total_amount"}
        if getattr(self, required[self.kind]) is None:
            raise ValueError(f"{self.kind} templates require {required[self.kind]}")
        foreign = [
            f
            for f in ("amount_off", "percent_off", "max_discount_amount", "lucky_total_amount")
            if getattr(self, f) is not None and f not in fields[self.kind]
        ]
        if foreign:
            raise ValueError(f"{', '.join(foreign)} not allowed for {self.kind} templates")
        if self.budget_amount is not None and self.kind == "percent_off" and self.max_discount_amount is None:
            raise ValueError(
                "a budget on a percent_off template needs max_discount_amount (what a lock holds)"
            )
        if self.kind == "lucky":
            if self.total_stock > MAX_LUCKY_STOCK:
                raise ValueError(f"lucky templates hold at most {MAX_LUCKY_STOCK} coupons")
            if (self.lucky_total_amount or 0) < self.total_stock:
                raise ValueError(
                    "lucky_total_amount must be at least total_stock (each coupon is at least 1)"
                )
        if self.valid_from and self.valid_until:
            from campaign_shared import clock

            if clock.parse(self.valid_until) <= clock.parse(self.valid_from):
                raise ValueError("valid_until must be after valid_from")
        if self.product_ids is not None and len(set(self.product_ids)) != len(self.product_ids):
            raise ValueError("product_ids must be unique")
        return self


class TemplateOut(Out):
    template_id: str
    name: str
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    lucky_total_amount: int | None = None
    min_spend_amount: int
    total_stock: int
    per_customer_limit: int
    valid_from: str | None = None
    valid_until: str | None = None
    valid_days: int | None = None
    product_ids: list[str] | None = None
    currency: str
    created_at: str
    state: Literal["scheduled", "active", "ended"] = Field(description="Claim window state now.")
    status: TemplateStatus = Field(
        description="ended (by the merchant or the window), paused, scheduled or active: what a claim meets."
    )
    version: int = Field(description="Raised by every change; the history lists each version.")
    stock_shards: int = Field(description="Stock shards (partitions) the stock is spread over.")
    lock_ttl_seconds: int = Field(
        description="How long a lock to an order holds: its own setting, else the shop's, else 1,800."
    )
    giftable: bool = False
    return_on_refund: bool = False
    issued_count: int
    redeemed_count: int = Field(description="Redemptions, less those given back by a full refund.")
    remaining_stock: int
    discount_total_amount: int = Field(description="The discount its redemptions gave (minor units).")
    invalidated_count: int = Field(default=0, description="Unused coupons voided by its invalidations.")
    budget_amount: int | None = None
    budget_used_amount: int | None = Field(
        default=None, description="Held by running locks plus taken by redemptions (with a budget)."
    )
    redeemed_gmv_amount: int = Field(description="What the orders that redeemed its coupons paid.")


class TemplateStatsOut(Out):
    """Where a template's coupons stand now."""

    template_id: str
    status: TemplateStatus
    as_of: str = Field(description="When the counts were read (RFC 3339).")
    issued_count: int = Field(description="Coupons issued (claims, issue jobs, grants, links and codes).")
    locked_count: int = Field(description="Coupons locked to an order now (a lapsed lock is not counted).")
    redeemed_count: int = Field(description="Redemptions, less those given back by a full refund.")
    expired_count: int = Field(
        description="Coupons whose validity ended while they could still be used: never redeemed, "
        "given away, revoked or invalidated."
    )
    invalidated_count: int = Field(description="Unused coupons voided by its invalidations.")
    remaining_stock: int
    discount_total_amount: int = Field(description="The discount its redemptions gave (minor units).")
    redeemed_gmv_amount: int = Field(description="What the orders that redeemed its coupons paid.")
    budget_amount: int | None = None
    budget_used_amount: int | None = None


class TemplatePatchIn(In):
    """What an edit may change; each only widens what the template allows."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    valid_until: Time | None = Field(default=None, description="Later than it is: extends the claim window.")
    per_customer_limit: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Higher than it is."
    )
    add_stock: Annotated[int, Field(ge=1, le=MAX_STOCK)] | None = Field(
        default=None, description="Units added to total_stock, spread over the stock shards (not on lucky)."
    )


class TemplateQuery(PageParams):
    status: TemplateStatus | None = Field(default=None, description="Only templates with this status now.")
    kind: Kind | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Only templates whose name contains this text (case-insensitive)."
    )


class TemplatePage(Out):
    items: list[TemplateOut] = Field(description="Newest first.")
    next_cursor: str | None = None


class TemplateChange(Out):
    version: int = Field(description="The template's version after the change.")
    at: str
    actor: str = Field(description="Who made it (the token's subject).")
    action: Literal["created", "edited", "paused", "resumed", "ended", "invalidated"]
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description="Per field changed: from and to (add_stock: added, from and to total_stock).",
    )


class TemplateHistoryPage(Out):
    items: list[TemplateChange] = Field(description="Oldest first.")
    next_cursor: str | None = None


class LuckySlot(Out):
    slot: int
    amount: int


class LuckyAmountsPage(Out):
    """The amounts drawn when the template was created; the n-th unit of stock carries the
    n-th amount."""

    total_amount: int
    items: list[LuckySlot]
    next_cursor: str | None = None


LockTtl = Annotated[int, Field(ge=60, le=7 * 86400)]


class CouponSettingsIn(In):
    """The shop's coupon settings, written whole: a setting left out or null is the default."""

    lock_ttl_seconds: LockTtl | None = Field(
        default=None,
        description="How long a lock holds for templates without their own lock_ttl_seconds "
        "(60..604,800; null: 1,800). Applies to locks taken from then on.",
    )


class CouponSettingsOut(Out):
    lock_ttl_seconds: int | None = Field(description="The shop's setting; null when it follows the default.")
    effective_lock_ttl_seconds: int = Field(description="What a template without its own setting uses.")
    updated_at: str | None = None
    updated_by: str | None = None
