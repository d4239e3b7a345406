"""The owner's lists and items. Only the owner sees or changes a list; anyone else (and any
other shop) gets 404."""

from __future__ import annotations

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, NotFound
from campaign_shared.storage.paging import PageParams
from chalicelib.wishlist.models import (
    MAX_ITEMS_PER_LIST,
    MAX_LISTS_PER_OWNER,
    ItemIn,
    ItemOut,
    ListIn,
    ListOut,
    ListPage,
)
from chalicelib.wishlist.store.records import ItemRecord, ListRecord
from chalicelib.wishlist.usecases import Stores, real_stores, views


def _now_epoch() -> int:
    return clock.epoch(clock.now())


def _full(cap: int) -> Conflict:
    return Conflict(f"a list holds at most {cap} items", code="item_limit_reached")


def create_list(shop: str, owner: str, body: ListIn, stores: Stores | None = None) -> ListOut:
    stores = stores or real_stores()
    record = ListRecord(
        shop=shop,
        list_id=ids.new_id("wl"),
        owner=owner,
        title=body.title,
        occasion=body.occasion,
        surprise=body.surprise,
        created_at=clock.iso(clock.now()),
    )
    if not stores.lists.create(record, MAX_LISTS_PER_OWNER):
        raise Conflict(f"a customer may keep at most {MAX_LISTS_PER_OWNER} lists", code="list_limit_reached")
    return views.list_out(record, [], _now_epoch())


def owner_lists(shop: str, owner: str, page: PageParams, stores: Stores | None = None) -> ListPage:
    stores = stores or real_stores()
    records, cursor = stores.lists.page_of_owner(shop, owner, page)
    return ListPage(items=[views.summary(r) for r in records], next_cursor=cursor)


def owner_view(shop: str, owner: str, list_id: str, stores: Stores | None = None) -> ListOut:
    stores = stores or real_stores()
    meta, items = stores.lists.load(shop, list_id, "owner")
    if meta is None or meta.owner != owner:
        raise NotFound("no such list")
    return views.list_out(meta, items, _now_epoch())


def delete_list(shop: str, owner: str, list_id: str, stores: Stores | None = None) -> None:
    stores = stores or real_stores()
    if not stores.lists.delete(shop, owner, list_id):
        raise NotFound("no such list")


def add_item(shop: str, owner: str, list_id: str, body: ItemIn, stores: Stores | None = None) -> ItemOut:
    stores = stores or real_stores()
    meta = stores.lists.get(shop, list_id)
    if meta is None or meta.owner != owner:
        raise NotFound("no such list")
    if meta.item_count >= MAX_ITEMS_PER_LIST:
        raise _full(MAX_ITEMS_PER_LIST)
    record = ItemRecord(
        list_id=list_id,
        item_id=ids.new_id("it"),
        product_id=body.product_id,
        name=body.name,
        unit_amount=body.unit_amount,
        added_at=clock.iso(clock.now()),
        quantity=body.quantity,
        owner=owner,
        surprise=meta.surprise,
        available=body.quantity,
    )
    if not stores.items.add(shop, record, MAX_ITEMS_PER_LIST):
        # Refused: the list was deleted, or filled up, since it was read.
        meta = stores.lists.get(shop, list_id)
        if meta is None or meta.owner != owner:
            raise NotFound("no such list")
        raise _full(MAX_ITEMS_PER_LIST)
    return views.item_out(record, record.state, _now_epoch(), surprise=meta.surprise)


def delete_item(shop: str, owner: str, list_id: str, item_id: str, stores: Stores | None = None) -> None:
    stores = stores or real_stores()
    if not stores.items.delete(shop, owner, list_id, item_id):
        raise NotFound("no such item")
