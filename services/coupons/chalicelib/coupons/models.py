"""Request and response models of /coupons (API.md) and the service's own queue messages.

Bodies and messages derive from ``In`` (unknown fields refused, strict values), responses
from ``Out``; ids, amounts, quantities, currencies and times are the shared scalars
(``campaign_shared.types``). Every input is bounded, so bad input is a 400 before anything
is written.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from campaign_shared.storage.paging import PageParams
from campaign_shared.types import Amount, Currency, Id, In, Out, PositiveAmount, Quantity, Timestamp
from chalicelib.coupons.domain.campaign import MAX_STOCK_SHARDS

MAX_STOCK = 10_000_000
MAX_BULK_CUSTOMERS = 100_000
MAX_LUCKY_STOCK = 100_000
MAX_CODES = 10_000  # domain.codes.MAX_BATCH
# Times keep the exact form this service always required (upper-case ``T`` and ``Z``); the
# shared ``Timestamp`` also bounds the length and the years.
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def _real_time(value: str) -> str:
    from campaign_shared import clock

    try:
        return clock.iso(clock.parse(value))
    except ValueError:
        raise ValueError("not a valid RFC 3339 time") from None


Time = Annotated[Timestamp, StringConstraints(pattern=RFC3339), AfterValidator(_real_time)]
Kind = Literal["amount_off", "percent_off", "lucky"]
TemplateStatus = Literal["scheduled", "active", "paused", "ended"]
CouponStatus = Literal["available", "locked", "redeemed", "expired", "revoked", "gifting", "gifted"]


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
        "(default 1,800): then the coupon is available again.",
    )
    giftable: bool = Field(default=False, description="Its coupons can be given to a friend (转赠).")

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
    lock_ttl_seconds: int = Field(description="How long a lock to an order holds.")
    giftable: bool = False
    issued_count: int
    redeemed_count: int
    remaining_stock: int


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
    action: Literal["created", "edited", "paused", "resumed", "ended"]
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


# ---- share links ---------------------------------------------------------------------------


Channel = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@+-]+$")]


class ShareLinkIn(In):
    channel: Channel = Field(
        description="Where it is shared: a group, 1:1 chats, Moments (an id you choose)."
    )
    sharer_id: Id | None = Field(
        default=None,
        description="The customer who shares it. A customer creating a link is the sharer (another id "
        "is 403); a merchant may name one or none.",
    )


class ShareLinkOut(Out):
    link_id: str
    template_id: str
    channel: str
    sharer_id: str | None = None
    created_by: str
    created_at: str
    url: str = Field(description="The public URL to paste into the chat.")
    qr_svg_url: str = Field(
        description="A QR code of the URL (SVG; qr.png for PNG), with a merchant's or customer's token."
    )
    claims: int = Field(description="Coupons claimed through the link.")
    redemptions: int = Field(description="Of those, redeemed by a paid order.")
    redeemed_gmv_amount: int = Field(description="What the orders that redeemed them paid (minor units).")
    discount_amount: int = Field(description="The discount those coupons gave those orders.")


class ShareLinkPage(Out):
    items: list[ShareLinkOut] = Field(description="Oldest first.")
    next_cursor: str | None = None


class PublicShareLink(Out):
    """What a share link's URL resolves to, for anyone."""

    shop: str
    link_id: str
    template_id: str
    name: str
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str
    status: TemplateStatus
    claim_path: str = Field(description="POST here with a customer token to claim.")


# ---- one-time claim links and exchange codes -----------------------------------------------

CodeKind = Literal["link", "exchange"]


class ClaimLinksIn(In):
    count: Annotated[int, Field(ge=1, le=MAX_CODES)] = Field(description="How many one-time links (a job).")


class ExchangeCodesIn(In):
    count: Annotated[int, Field(ge=1, le=MAX_CODES)] | None = Field(
        default=None, description="Generate this many codes (with a check character)."
    )
    codes: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
            Field(min_length=1, max_length=MAX_CODES),
        ]
        | None
    ) = Field(
        default=None,
        description="Or import your own: 4..32 letters or digits each (case, spaces and hyphens ignored), "
        "unique in the shop.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> ExchangeCodesIn:
        if (self.count is None) == (self.codes is None):
            raise ValueError("give either count or codes")
        return self


class CodeBatchAccepted(Out):
    batch_id: str
    kind: CodeKind
    status: Literal["queued", "running", "done"]
    requested: int


class CodeBatchOut(Out):
    batch_id: str
    template_id: str
    kind: CodeKind
    source: Literal["generated", "imported"]
    status: Literal["queued", "running", "done"]
    requested: int = Field(description="Links or codes asked for (imported: the distinct codes sent).")
    written: int = Field(description="Ready to hand out, each holding one unit of stock.")
    skipped: int = Field(description="requested - written when done: see skipped_by_reason.")
    skipped_by_reason: dict[str, int] = Field(
        default_factory=dict,
        description="duplicate (an imported code the shop has already), sold_out (no stock left for it), "
        "paused or not_active (the template was paused or ended while the batch ran)",
    )
    created_at: str
    created_by: str


class CodeOut(Out):
    index: int
    token: str | None = Field(default=None, description="A one-time link's token (links).")
    url: str | None = Field(default=None, description="A one-time link's URL to paste into a 1:1 chat.")
    code: str | None = Field(default=None, description="An exchange code.")
    status: Literal["unused", "claimed"]
    customer_id: str | None = None
    coupon_id: str | None = None
    claimed_at: str | None = None


class CodePage(Out):
    items: list[CodeOut] = Field(description="In index order.")
    next_cursor: str | None = None


class RedeemCodeIn(In):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PublicClaimLink(Out):
    """What a one-time link's URL resolves to, for anyone."""

    shop: str
    template_id: str
    name: str
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str
    status: Literal["unused", "claimed"]
    claim_path: str


class CodeChunk(In):
    """One chunk of a code batch, on the bulk queue: indexes ``first_index..`` of ``count``
    generated links or codes, or the imported ``codes``."""

    type: Literal["coupon.code_batch"] = "coupon.code_batch"
    shop: Id
    batch_id: Id
    chunk: Annotated[int, Field(ge=0)]
    first_index: Annotated[int, Field(ge=0)]
    count: Annotated[int, Field(ge=1, le=1000)]
    codes: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=4, max_length=32)]], Field(max_length=1000)
        ]
        | None
    ) = None


# ---- coupons -----------------------------------------------------------------------------


class CouponConflict(Out):
    """An ``order.paid`` that named this coupon but could not redeem it."""

    order_id: str = Field(description="The paid order that named the coupon.")
    reason: Literal["locked_to_another_order", "already_redeemed", "expired", "not_available"] = Field(
        description="locked_to_another_order: the coupon is locked to the order in ``order_id`` of the "
        "coupon; already_redeemed: another order redeemed it; expired: it had expired when the order "
        "was paid; not_available: it was revoked, given away, or being given"
    )
    event_id: str = Field(description="The order event; a redelivered event is recorded once.")
    at: str = Field(description="When the conflict was recorded.")


class CouponOut(Out):
    coupon_id: str
    template_id: str
    customer_id: str
    name: str
    status: CouponStatus
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str
    issued_at: str
    expires_at: str | None = None
    order_id: str | None = None
    conflicts: list[CouponConflict] = Field(
        default_factory=list,
        description="Paid orders that named this coupon but did not redeem it (oldest first, at most 20).",
    )
    gift: CouponGift | None = Field(
        default=None, description="The gift it was given in, or came from; both customers see it."
    )


class CouponGift(Out):
    """The gift a coupon was given in (the giver's) or came from (the friend's)."""

    gift_id: str
    status: Literal["open", "accepted", "cancelled"]
    from_customer_id: str
    to_customer_id: str | None = None
    created_at: str
    expires_at: str
    accepted_at: str | None = None


class GiftIn(In):
    expires_in_seconds: Annotated[int, Field(ge=60, le=7 * 86400)] | None = Field(
        default=None, description="How long the friend has to accept (default 86,400)."
    )


class GiftOut(Out):
    gift_id: str = Field(description="Unguessable: whoever has it may accept the gift.")
    coupon_id: str
    status: Literal["open", "accepted", "cancelled"]
    from_customer_id: str
    to_customer_id: str | None = None
    created_at: str
    expires_at: str
    accepted_at: str | None = None
    url: str = Field(description="The link to send the friend.")
    accept_path: str


class PublicGift(Out):
    """What a gift's URL resolves to, for anyone: the offer and whether it can be accepted."""

    shop: str
    gift_id: str
    status: Literal["open", "accepted", "cancelled", "expired"]
    expires_at: str
    name: str
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str
    coupon_expires_at: str | None = None
    accept_path: str


class CouponPage(Out):
    items: list[CouponOut]
    next_cursor: str | None = None


class CartLine(In):
    product_id: Id
    quantity: Quantity
    unit_amount: Amount


class ValidateIn(In):
    coupon_id: Id
    lines: Annotated[list[CartLine], Field(min_length=1, max_length=500)]
    order_id: Id | None = Field(default=None, description="An order the coupon is locked to, if any.")


class ValidateOut(Out):
    coupon_id: str
    valid: bool
    discount_amount: int
    reason: str | None = Field(
        default=None, description="not_available, expired, out_of_scope or below_min_spend when not valid"
    )
    eligible_subtotal_amount: int


class ForCartIn(In):
    lines: Annotated[list[CartLine], Field(min_length=1, max_length=500)]
    order_id: Id | None = Field(
        default=None, description="The order being checked out: a coupon locked to it is usable."
    )


class CartCoupon(Out):
    coupon: CouponOut
    discount_amount: int = Field(description="What the coupon takes off this cart (0 when unusable).")
    eligible_subtotal_amount: int
    reason: str | None = Field(
        default=None,
        description="Why it does not apply: not_available, expired, out_of_scope or below_min_spend.",
    )


class ForCartOut(Out):
    usable: list[CartCoupon] = Field(
        description="Coupons that apply, best first: the largest discount, then the soonest expiry."
    )
    unusable: list[CartCoupon] = Field(
        description="The caller's other unspent coupons (not redeemed, not revoked), each with its reason."
    )


class LockIn(In):
    order_id: Id


# ---- bulk issue -------------------------------------------------------------------------


class IssueJobIn(In):
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_CUSTOMERS)]


class IssueJobAccepted(Out):
    job_id: str
    status: Literal["queued", "running", "done"]
    total: int


class IssueJobOut(Out):
    job_id: str
    template_id: str
    status: Literal["queued", "running", "done"]
    total: int = Field(description="customer_ids posted; issued + skipped + failed reaches it when done")
    issued: int
    skipped: int = Field(
        description="customers not due a coupon: duplicates in the list, customers already at their "
        "limit, and those left when the stock ran out (see skipped_by_reason)"
    )
    failed: int = Field(
        description="customers the job could not serve: the claim window was over, the template is gone, "
        "or their chunk went to the dead-letter queue (see failed_by_reason)"
    )
    skipped_by_reason: dict[str, int] = Field(
        default_factory=dict,
        description="skipped by reason code (codes with a count): duplicate, per_customer_limit_reached, "
        "sold_out; the counts add up to skipped",
    )
    failed_by_reason: dict[str, int] = Field(
        default_factory=dict,
        description="failed by reason code (codes with a count): not_active (window over or template "
        "ended), paused, template_not_found, dead_lettered; the counts add up to failed",
    )
    samples: dict[str, list[str]] = Field(
        default_factory=dict, description="up to 10 customer ids per reason code, for a look at who"
    )
    dead_lettered_chunks: list[int] = Field(
        default_factory=list,
        description="chunks (numbered from 0, 500 customers or fewer each) that went to the dead-letter "
        "queue; their customers are failed / dead_lettered. A redrive that succeeds replaces that with "
        "the chunk's real outcome and removes it from this list",
    )
    created_at: str


class IssueChunk(In):
    """One slice of a bulk issue job, on the coupons service's bulk queue."""

    type: Literal["coupon.issue_chunk"] = "coupon.issue_chunk"
    shop: Id
    job_id: Id
    template_id: Id
    chunk: Annotated[int, Field(ge=0)]
    first_index: Annotated[int, Field(ge=0)]
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]
