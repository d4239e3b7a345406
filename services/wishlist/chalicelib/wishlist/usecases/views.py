"""Records -> response models. Counts are as of ``now``: an expired hold is not reserved any
more, whether or not a write has cleared it yet. With ``surprise`` the owner's view has no
buyer identity; the public view never names the owner or any buyer."""

from __future__ import annotations

from campaign_shared.settings import public_url
from chalicelib.wishlist import domain
from chalicelib.wishlist.models import Fulfiller, ItemOut, ListOut, ListSummary, PublicItemOut
from chalicelib.wishlist.store.records import ItemRecord, ListRecord


def share_url(token: str) -> str:
    return public_url(f"/wishlist/shared/{token}")


def summary(meta: ListRecord) -> ListSummary:
    return ListSummary(
        list_id=meta.list_id,
        title=meta.title,
        occasion=meta.occasion,
        surprise=meta.surprise,
        created_at=meta.created_at,
        item_count=meta.item_count,
        shared=bool(meta.share_token),
    )


def list_out(meta: ListRecord, items: list[ItemRecord], now: int) -> ListOut:
    token = meta.share_token
    return ListOut(
        list_id=meta.list_id,
        title=meta.title,
        occasion=meta.occasion,
        surprise=meta.surprise,
        created_at=meta.created_at,
        item_count=meta.item_count,
        share_token=token,
        share_url=share_url(token) if token else None,
        items=[item_out(i, i.state, now, surprise=meta.surprise) for i in items],
    )


def item_out(item: ItemRecord, state: domain.ItemState, now: int, *, surprise: bool) -> ItemOut:
    fulfilled_by = None
    if not surprise:
        fulfilled_by = [
            Fulfiller(customer_id=who, quantity=units, fulfilled_at=when)
            for who, units, when in domain.fulfillers(state)
        ]
    seen = state.counts(now)
    return ItemOut(
        item_id=item.item_id,
        list_id=item.list_id,
        product_id=item.product_id,
        name=item.name,
        unit_amount=item.unit_amount,
        quantity=state.quantity,
        reserved_quantity=seen.reserved,
        fulfilled_quantity=seen.fulfilled,
        open_quantity=seen.open,
        added_at=item.added_at,
        fulfilled_by=fulfilled_by,
    )


def public_item(item: ItemRecord, now: int) -> PublicItemOut:
    """A friend's view of an item: its counts from the stored fulfilled quantity (the fills,
    which name buyers, are not read)."""
    seen = domain.counts(item.quantity, item.fulfilled_quantity, item.holds, now)
    return PublicItemOut(
        item_id=item.item_id,
        product_id=item.product_id,
        name=item.name,
        unit_amount=item.unit_amount,
        quantity=item.quantity,
        reserved_quantity=seen.reserved,
        fulfilled_quantity=seen.fulfilled,
        open_quantity=seen.open,
    )
