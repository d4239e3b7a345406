"""What each wishlist route does: the domain's rules over the store.

- Only the owner sees or changes a list; anyone else (and any other shop) gets 404.
- A share token is 24 URL-safe characters (144 random bits). The share record is the one
  source of truth: revoking deletes it in the same transaction that clears the list's token,
  so the old token is 404 from that write on. Sharing a list that is already shared returns
  its current token; sharing after a revoke issues a new one.
- The public view and the owner's view show counts as of now: an expired hold is not
  reserved any more, whether or not a write has cleared it yet.
- With ``surprise`` the owner's view has no buyer identity; without it, it lists who bought
  how many. The public view never names the owner or any buyer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from campaign_shared import clock, dynamo, ids
from campaign_shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from campaign_shared.settings import get_settings
from chalicelib.wishlist import domain, store, store_items
from chalicelib.wishlist.models import (
    MAX_ITEMS_PER_LIST,
    MAX_LISTS_PER_OWNER,
    Fulfiller,
    ItemIn,
    ItemOut,
    ListIn,
    ListOut,
    ListPage,
    ListSummary,
    PublicItemOut,
    PublicListOut,
    ReservationIn,
    ReservationOut,
    ShareOut,
)

TOKEN_BYTES = 18  # 144 bits of randomness
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{24}$")
RESERVE_ATTEMPTS = 4


def _now_epoch() -> int:
    return clock.epoch(clock.now())


def share_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/wishlist/shared/{token}"


# ---- owner -----------------------------------------------------------------------------------


def create_list(shop: str, owner: str, body: ListIn) -> ListOut:
    meta = {
        "shop": shop,
        "list_id": ids.new_id("wl"),
        "owner": owner,
        "title": body.title,
        "occasion": body.occasion,
        "surprise": body.surprise,
        "created_at": clock.iso(clock.now()),
    }
    store.create_list(meta, MAX_LISTS_PER_OWNER)
    return _list_out({**meta, "item_count": 0}, [], _now_epoch())


def owner_lists(shop: str, owner: str, page: dynamo.PageParams) -> ListPage:
    records, cursor = store.owner_lists(shop, owner, page)
    return ListPage(items=[_summary(r) for r in records], next_cursor=cursor)


def _owned(shop: str, owner: str, list_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    meta, items = store.load_list(shop, list_id, store.OWNER_FIELDS)
    if meta is None or meta.get("owner") != owner:
        raise NotFound("no such list")
    return meta, items


def owner_view(shop: str, owner: str, list_id: str) -> ListOut:
    meta, items = _owned(shop, owner, list_id)
    return _list_out(meta, items, _now_epoch())


def delete_list(shop: str, owner: str, list_id: str) -> None:
    store.delete_list(shop, list_id, owner)


def add_item(shop: str, owner: str, list_id: str, body: ItemIn) -> ItemOut:
    meta = store.get_meta(shop, list_id)
    if meta is None or meta.get("owner") != owner:
        raise NotFound("no such list")
    if int(meta.get("item_count", 0)) >= MAX_ITEMS_PER_LIST:
        raise Conflict(f"a list holds at most {MAX_ITEMS_PER_LIST} items", code="item_limit_reached")
    surprise = bool(meta.get("surprise"))
    item: dict[str, Any] = {
        "item_id": ids.new_id("it"),
        "list_id": list_id,
        "owner": owner,
        "surprise": surprise,
        "product_id": body.product_id,
        "name": body.name,
        "unit_amount": body.unit_amount,
        "qty": body.quantity,
        "added_at": clock.iso(clock.now()),
    }
    store.add_item(shop, list_id, owner, item, MAX_ITEMS_PER_LIST)
    record = {**item, "holds": {}, "fills": "", "ver": 0}
    return _item_out(record, store_items.item_state(record), _now_epoch(), surprise=surprise)


def delete_item(shop: str, owner: str, list_id: str, item_id: str) -> None:
    store.delete_item(shop, list_id, owner, item_id)


def share(shop: str, owner: str, list_id: str) -> ShareOut:
    for _ in range(3):
        meta = store.get_meta(shop, list_id)
        if meta is None or meta.get("owner") != owner:
            raise NotFound("no such list")
        token = meta.get("share_token")
        if token:
            return ShareOut(list_id=list_id, share_token=token, url=share_url(token))
        token = ids.token(TOKEN_BYTES)
        try:
            store.share(shop, list_id, owner, token, clock.iso(clock.now()))
        except Conflict:
            continue  # shared or revoked concurrently: look again
        return ShareOut(list_id=list_id, share_token=token, url=share_url(token))
    raise ServiceUnavailable("the list is busy; retry shortly")


def revoke(shop: str, owner: str, list_id: str) -> None:
    """Revoke the list's share link; revoking a list that is not shared does nothing."""
    for _ in range(3):
        meta = store.get_meta(shop, list_id)
        if meta is None or meta.get("owner") != owner:
            raise NotFound("no such list")
        token = meta.get("share_token")
        if not token:
            return
        try:
            store.revoke(shop, list_id, owner, token)
            return
        except Conflict:
            continue
    raise ServiceUnavailable("the list is busy; retry shortly")


# ---- friends ---------------------------------------------------------------------------------


def _shared(shop: str, token: str) -> dict[str, Any]:
    if not TOKEN_SHAPE.match(token):
        raise NotFound("no such share link")
    found = store.get_share(shop, token)
    if found is None:
        raise NotFound("no such share link")
    return found


def public_view(shop: str, token: str) -> PublicListOut:
    link = _shared(shop, token)
    meta, items = store.load_list(shop, link["list_id"], store.PUBLIC_FIELDS)
    if meta is None or meta.get("share_token") != token:
        raise NotFound("no such share link")
    now = _now_epoch()
    out = []
    for item in items:
        quantity = int(item["qty"])
        seen = domain.counts(quantity, int(item.get("fulfilled_q", 0)), store_items.holds_of(item), now)
        out.append(
            PublicItemOut(
                item_id=item["item_id"],
                product_id=item["product_id"],
                name=item["name"],
                unit_amount=int(item["unit_amount"]),
                quantity=quantity,
                reserved_quantity=seen.reserved,
                fulfilled_quantity=seen.fulfilled,
                open_quantity=seen.open,
            )
        )
    return PublicListOut(
        list_id=meta["list_id"], title=meta["title"], occasion=meta.get("occasion"), items=out
    )


def reserve(shop: str, friend: str, token: str, item_id: str, body: ReservationIn) -> ReservationOut:
    """Hold ``quantity`` of an item for a friend; 409 ``nothing_left`` when less is open.

    The fast path is one conditional write with no read. When it fails, the item returned
    with the failure tells whether expired holds would make room: if so they are released
    and the hold taken in the next conditional write; if not, nothing is left."""
    link = _shared(shop, token)
    if link["owner"] == friend:
        raise Forbidden("the owner cannot reserve items of her own list", code="owner_cannot_reserve")
    now = clock.now()
    reservation_id = ids.new_id("r")
    hold = domain.Hold(q=body.quantity, exp=clock.epoch(now) + body.hold_seconds, by=friend)
    release: dict[str, int] = {}
    for _ in range(RESERVE_ATTEMPTS):
        item = store_items.try_reserve(shop, link["list_id"], item_id, reservation_id, hold, release)
        # a write whose answer was lost and retried fails its condition against itself: the
        # hold under this request's own reservation id means it was taken
        if item is None or reservation_id in store_items.holds_of(item):
            return ReservationOut(
                reservation_id=reservation_id,
                list_id=link["list_id"],
                item_id=item_id,
                quantity=body.quantity,
                expires_at=clock.iso(datetime.fromtimestamp(hold.exp, UTC)),
            )
        try:
            release = domain.plan_reservation(store_items.item_state(item), body.quantity, clock.epoch(now))
        except domain.NothingLeft as exc:
            raise Conflict(
                f"only {exc.open_quantity} of this item is still open", code="nothing_left"
            ) from None
    raise ServiceUnavailable("the item is busy; retry shortly")


def release(shop: str, friend: str, token: str, item_id: str, reservation_id: str) -> None:
    """A friend gives her own reservation back (404 if it is not hers or already gone)."""
    link = _shared(shop, token)
    hers = False

    def change(state: domain.ItemState, item: dict[str, Any]) -> domain.ItemState | None:
        nonlocal hers
        hold = state.holds.get(reservation_id)
        hers = hold is not None and hold.by == friend
        return domain.release_hold(state, reservation_id) if hers else None

    if store_items.mutate_item(shop, link["list_id"], item_id, change) is None or not hers:
        raise NotFound("no such reservation")


# ---- views -----------------------------------------------------------------------------------


def _summary(meta: dict[str, Any]) -> ListSummary:
    return ListSummary(
        list_id=meta["list_id"],
        title=meta["title"],
        occasion=meta.get("occasion"),
        surprise=bool(meta.get("surprise")),
        created_at=meta["created_at"],
        item_count=int(meta.get("item_count", 0)),
        shared=bool(meta.get("share_token")),
    )


def _list_out(meta: dict[str, Any], items: list[dict[str, Any]], now: int) -> ListOut:
    surprise = bool(meta.get("surprise"))
    token = meta.get("share_token")
    return ListOut(
        list_id=meta["list_id"],
        title=meta["title"],
        occasion=meta.get("occasion"),
        surprise=surprise,
        created_at=meta["created_at"],
        item_count=int(meta.get("item_count", len(items))),
        share_token=token,
        share_url=share_url(token) if token else None,
        items=[_item_out(i, store_items.item_state(i), now, surprise=surprise) for i in items],
    )


def _item_out(item: dict[str, Any], state: domain.ItemState, now: int, *, surprise: bool) -> ItemOut:
    fulfilled_by = None
    if not surprise:
        fulfilled_by = [
            Fulfiller(customer_id=who, quantity=units, fulfilled_at=when)
            for who, units, when in domain.fulfillers(state)
        ]
    seen = state.counts(now)
    return ItemOut(
        item_id=item["item_id"],
        list_id=item["list_id"],
        product_id=item["product_id"],
        name=item["name"],
        unit_amount=int(item["unit_amount"]),
        quantity=state.quantity,
        reserved_quantity=seen.reserved,
        fulfilled_quantity=seen.fulfilled,
        open_quantity=seen.open,
        added_at=item["added_at"],
        fulfilled_by=fulfilled_by,
    )
