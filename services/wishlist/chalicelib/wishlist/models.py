"""Request and response models of ``/wishlist`` (API.md, wishlist section).

Requests derive from ``types.In`` (unknown fields refused, strict values) and bound their
values, so bad input is a 400 before anything is read or written: quantities are whole units
(at most 999, below the shared ``Quantity`` bound), money is integer minor units (fen, at most
10 million yuan, below the shared ``Amount`` bound). Responses derive from ``types.Out``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from campaign_shared import types
from campaign_shared.types import Amount, Id, In, Out

MAX_LISTS_PER_OWNER = 20
MAX_ITEMS_PER_LIST = 100
MAX_QUANTITY = 999
MAX_NAME_LENGTH = 200
MAX_UNIT_AMOUNT = 10**9  # 10 million yuan in fen: far above any single gift
DEFAULT_HOLD_SECONDS = 30 * 60
MAX_HOLD_SECONDS = 2 * 3600

Quantity = Annotated[types.Quantity, Field(le=MAX_QUANTITY)]
UnitAmount = Annotated[Amount, Field(le=MAX_UNIT_AMOUNT, description="Minor units (fen) when added")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)]


# ---- requests ------------------------------------------------------------------------


class ListIn(In):
    title: Text
    occasion: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None
    ) = None
    surprise: bool = False


class ItemIn(In):
    product_id: Id
    name: Text
    unit_amount: UnitAmount
    quantity: Quantity


class ReservationIn(In):
    quantity: Quantity = 1
    hold_seconds: int = Field(
        default=DEFAULT_HOLD_SECONDS,
        ge=1,
        le=MAX_HOLD_SECONDS,
        description="How long the quantity is held for this friend (default 30 minutes).",
    )


# ---- responses -----------------------------------------------------------------------


class Fulfiller(Out):
    """Who bought how many (the owner's view of a list without ``surprise`` only)."""

    customer_id: str
    quantity: int
    fulfilled_at: str


class ItemOut(Out):
    item_id: str
    list_id: str
    product_id: str
    name: str
    unit_amount: int
    quantity: int
    reserved_quantity: int
    fulfilled_quantity: int
    open_quantity: int
    added_at: str
    # None with ``surprise``: the owner sees that an item is fulfilled, never by whom.
    fulfilled_by: list[Fulfiller] | None = None


class ListOut(Out):
    list_id: str
    title: str
    occasion: str | None
    surprise: bool
    created_at: str
    item_count: int
    share_token: str | None
    share_url: str | None
    items: list[ItemOut]


class ListSummary(Out):
    list_id: str
    title: str
    occasion: str | None
    surprise: bool
    created_at: str
    item_count: int
    shared: bool


class ListPage(Out):
    items: list[ListSummary]
    next_cursor: str | None


class ShareOut(Out):
    list_id: str
    share_token: str
    url: str


class PublicItemOut(Out):
    item_id: str
    product_id: str
    name: str
    unit_amount: int
    quantity: int
    reserved_quantity: int
    fulfilled_quantity: int
    open_quantity: int


class PublicListOut(Out):
    """What a friend sees through a share link: no owner or buyer identity anywhere."""

    list_id: str
    title: str
    occasion: str | None
    items: list[PublicItemOut]


class ReservationOut(Out):
    reservation_id: str
    list_id: str
    item_id: str
    quantity: int
    expires_at: str
