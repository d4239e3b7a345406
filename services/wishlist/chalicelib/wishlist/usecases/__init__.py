"""What the wishlist's routes and message handlers do: the domain's rules over the store.

Every use case takes its repositories as ``stores`` (a ``Stores``; the real repositories by
default), so the unit tests run the same code on in-memory fakes:

- ``lists``: the owner's lists and items;
- ``sharing``: share links and the public view;
- ``reservations``: a friend's holds (take, release);
- ``orders``: order events -> fulfilments and the ``wishlist.item_fulfilled`` notification;
- ``views``: records -> response models.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaign_shared import messaging
from campaign_shared.storage import retry
from chalicelib.wishlist.domain import ItemState
from chalicelib.wishlist.store.ports import ItemStore, ListStore, OrderStore, ShareStore
from chalicelib.wishlist.store.records import ItemRecord

ITEM_ATTEMPTS = 8


def _publish(topic: str, message: dict[str, Any]) -> None:
    messaging.publish(topic, message)


@dataclass(frozen=True)
class Stores:
    lists: ListStore
    items: ItemStore
    shares: ShareStore
    orders: OrderStore
    publish: Callable[[str, dict[str, Any]], None] = _publish


@functools.cache
def real_stores() -> Stores:
    from chalicelib.wishlist.store.items import ItemRepository
    from chalicelib.wishlist.store.lists import ListRepository
    from chalicelib.wishlist.store.orders import OrderRepository
    from chalicelib.wishlist.store.shares import ShareRepository

    return Stores(ListRepository(), ItemRepository(), ShareRepository(), OrderRepository())


def mutate_item(
    stores: Stores, shop: str, list_id: str, item_id: str, change: Callable[[ItemState], ItemState | None]
) -> tuple[ItemRecord, ItemState] | None:
    """Apply ``change`` to the item's current state until it lands; None when there is no item.

    Returns the item as read and its state after the change (as read, when ``change``
    returned None). A lost race re-reads and re-applies; after ``ITEM_ATTEMPTS`` it is a 503."""
    for _ in retry.attempts(ITEM_ATTEMPTS, busy="the item is busy; retry shortly", base=0.0025):
        item = stores.items.get(shop, list_id, item_id)
        if item is None:
            return None
        before = item.state
        after = change(before)
        if after is None:
            return item, before
        if stores.items.save(shop, item, after):
            return item, after
    raise AssertionError("unreachable")  # retry.attempts raises when it runs out
