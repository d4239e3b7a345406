"""Coupons where customers talk: share links, one-time claim links and exchange codes, gifts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from campaign_shared.types import Id, In, Out
from chalicelib.coupons.models.common import (
    MAX_CODES,
    Kind,
    TemplateStatus,
)

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


class PublicOffer(Out):
    """The offer a public link shows anyone: the shop and the coupon's terms."""

    shop: str
    name: str
    kind: Kind
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int
    currency: str


class PublicShareLink(PublicOffer):
    """What a share link's URL resolves to, for anyone."""

    link_id: str
    template_id: str
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
        "paused or not_active (the template was paused or ended while the batch ran), dead_lettered "
        "(their chunk went to the dead-letter queue)",
    )
    dead_lettered_chunks: list[int] = Field(
        default_factory=list,
        description="Chunks that went to the dead-letter queue; a redrive that succeeds replaces their "
        "dead_lettered count with the real one.",
    )
    created_at: str
    created_by: str


class BatchCodeOut(Out):
    index: int
    token: str | None = Field(default=None, description="A one-time link's token (links).")
    url: str | None = Field(default=None, description="A one-time link's URL to paste into a 1:1 chat.")
    code: str | None = Field(default=None, description="An exchange code.")
    status: Literal["unused", "claimed"]
    customer_id: str | None = None
    coupon_id: str | None = None
    claimed_at: str | None = None


class BatchCodePage(Out):
    items: list[BatchCodeOut] = Field(description="In index order.")
    next_cursor: str | None = None


class RedeemCodeIn(In):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PublicClaimLink(PublicOffer):
    """What a one-time link's URL resolves to, for anyone."""

    template_id: str
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


# ---- gifts ----------------------------------------------------------------------------------


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


class PublicGift(PublicOffer):
    """What a gift's URL resolves to, for anyone: the offer and whether it can be accepted."""

    gift_id: str
    status: Literal["open", "accepted", "cancelled", "expired"]
    expires_at: str
    coupon_expires_at: str | None = None
    accept_path: str
