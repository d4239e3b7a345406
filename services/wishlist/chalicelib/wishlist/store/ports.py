"""The wishlist's repositories as ports: what the use cases need from storage, and nothing
about DynamoDB. The real repositories are ``store.lists``, ``store.items``, ``store.shares``
and ``store.orders``; the unit tests run the use cases on in-memory fakes of these."""

from __future__ import annotations

from typing import Literal, Protocol

from campaign_shared.storage.paging import PageParams
from chalicelib.wishlist.domain import Hold, ItemState
from chalicelib.wishlist.store.records import (
    ItemRecord,
    ListRecord,
    OrderLineRecord,
    PendingRefund,
    Reservation,
    ShareRecord,
)

View = Literal["owner", "public"]


class ListStore(Protocol):
    def create(self, record: ListRecord, cap: int) -> bool:
        """Store a new list counted against its owner's cap; False when the cap is reached.
        A retried create whose first attempt committed is True."""
        ...

    def page_of_owner(self, shop: str, owner: str, page: PageParams) -> tuple[list[ListRecord], str | None]:
        """The owner's lists, newest first, and the cursor of the next page."""
        ...

    def get(self, shop: str, list_id: str) -> ListRecord | None: ...

    def load(self, shop: str, list_id: str, view: View) -> tuple[ListRecord | None, list[ItemRecord]]:
        """The list and its items (oldest first), as one consistent read; ``view`` says which
        fields are read (a friend's view reads no owner, fills or buyer)."""
        ...

    def delete(self, shop: str, owner: str, list_id: str) -> bool:
        """Delete the owner's list (its items and share link after); False when there is none."""
        ...


class ItemStore(Protocol):
    def get(self, shop: str, list_id: str, item_id: str) -> ItemRecord | None: ...

    def add(self, shop: str, record: ItemRecord, cap: int) -> bool:
        """Store an item counted against its list's cap; False when the list is not the
        owner's or is full. A retried add whose first attempt committed is True."""
        ...

    def delete(self, shop: str, owner: str, list_id: str, item_id: str) -> bool: ...

    def reserve(
        self, shop: str, list_id: str, item_id: str, reservation_id: str, hold: Hold, release: dict[str, int]
    ) -> Reservation:
        """Take ``hold`` under ``reservation_id``, releasing the expired holds in ``release``,
        in one conditional write with no read: refused unless the stored counter plus the
        released units cover it and every released hold is still there."""
        ...

    def save(self, shop: str, before: ItemRecord, after: ItemState) -> bool:
        """Write ``after`` if the item is still at ``before.version``; False when it moved on."""
        ...


class ShareStore(Protocol):
    def get(self, shop: str, token: str) -> ShareRecord | None: ...

    def share(self, shop: str, record: ShareRecord) -> bool:
        """Make ``record`` the list's one share link; False when the list has one (or is not
        the owner's)."""
        ...

    def revoke(self, shop: str, list_id: str, owner: str, token: str) -> bool:
        """Delete the share link and clear the list's token; False when the list changed."""
        ...


class OrderStore(Protocol):
    def put_line(self, shop: str, record: OrderLineRecord) -> None: ...

    def get_line(self, shop: str, order_id: str, line_id: str) -> OrderLineRecord | None: ...

    def put_pending_refund(self, shop: str, refund: PendingRefund) -> None: ...

    def pending_refunds(self, shop: str, order_id: str) -> list[PendingRefund]: ...
