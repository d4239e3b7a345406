"""In-memory stand-ins for the wishlist's repositories (``store.ports``), honouring the same
conditions as the table: a reservation is refused unless the stored counter plus the released
units cover it and every released hold is still there, and it recognises its own earlier hold
(a write whose answer was lost); a save is refused when the version moved on; counted creates
recognise their own earlier attempt; caps hold.

Faults, for the protocol tests:

- ``lost_answers``: the next reservation writes are applied twice and the caller sees only the
  second answer (botocore retrying a write whose first answer was lost);
- ``crash_after``: the process dies (``Crash``) right after that many more writes;
- ``before_save``: called between an item's read and its save (a concurrent writer);
- ``before_reserve``: called before each reservation write (a concurrent writer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from campaign_shared.storage.paging import PageParams
from chalicelib.wishlist.domain import Hold, ItemState
from chalicelib.wishlist.store.ports import View
from chalicelib.wishlist.store.records import (
    ItemRecord,
    ListRecord,
    OrderLineRecord,
    PendingRefund,
    Reservation,
    ShareRecord,
)
from chalicelib.wishlist.usecases import Stores


class Crash(Exception):
    """The process died right after a write."""


@dataclass
class Faults:
    lost_answers: int = 0
    crash_after: int | None = None
    before_save: Callable[[], None] | None = None
    before_reserve: Callable[[], None] | None = None
    writes: int = 0

    def wrote(self) -> None:
        self.writes += 1
        if self.crash_after is not None:
            self.crash_after -= 1
            if self.crash_after <= 0:
                self.crash_after = None
                raise Crash(f"crashed after write {self.writes}")


@dataclass
class Tables:
    lists: dict[tuple[str, str], ListRecord] = field(default_factory=dict)
    list_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    items: dict[tuple[str, str, str], ItemRecord] = field(default_factory=dict)
    shares: dict[tuple[str, str], ShareRecord] = field(default_factory=dict)
    lines: dict[tuple[str, str, str], OrderLineRecord] = field(default_factory=dict)
    refunds: dict[tuple[str, str, str, str], PendingRefund] = field(default_factory=dict)


class FakeLists:
    def __init__(self, tables: Tables, faults: Faults) -> None:
        self.t, self.faults = tables, faults

    def create(self, record: ListRecord, cap: int) -> bool:
        key = (record.shop, record.list_id)
        if key in self.t.lists:
            return True  # this call's own earlier attempt (the id is fresh)
        owner = (record.shop, record.owner)
        if self.t.list_counts.get(owner, 0) >= cap:
            return False
        self.t.list_counts[owner] = self.t.list_counts.get(owner, 0) + 1
        self.t.lists[key] = record
        self.faults.wrote()
        return True

    def page_of_owner(self, shop: str, owner: str, page: PageParams) -> tuple[list[ListRecord], str | None]:
        mine = [r for (s, _), r in self.t.lists.items() if s == shop and r.owner == owner]
        mine.sort(key=lambda r: (r.created_at, r.list_id), reverse=True)
        return mine[: page.limit], None

    def get(self, shop: str, list_id: str) -> ListRecord | None:
        return self.t.lists.get((shop, list_id))

    def load(self, shop: str, list_id: str, view: View) -> tuple[ListRecord | None, list[ItemRecord]]:
        items = sorted(
            (r for (s, lid, _), r in self.t.items.items() if s == shop and lid == list_id),
            key=lambda r: r.item_id,
        )
        if view == "public":  # what the projection leaves out
            items = [replace(r, owner="", surprise=False, fills={}, available=0, version=0) for r in items]
        return self.get(shop, list_id), items

    def delete(self, shop: str, owner: str, list_id: str) -> bool:
        meta = self.get(shop, list_id)
        if meta is None or meta.owner != owner:
            return False
        del self.t.lists[(shop, list_id)]
        self.t.list_counts[(shop, owner)] -= 1
        self.faults.wrote()
        if meta.share_token:
            self.t.shares.pop((shop, meta.share_token), None)
        for key in [k for k in self.t.items if k[:2] == (shop, list_id)]:
            del self.t.items[key]
        return True


class FakeItems:
    def __init__(self, tables: Tables, faults: Faults) -> None:
        self.t, self.faults = tables, faults

    def get(self, shop: str, list_id: str, item_id: str) -> ItemRecord | None:
        return self.t.items.get((shop, list_id, item_id))

    def add(self, shop: str, record: ItemRecord, cap: int) -> bool:
        key = (shop, record.list_id, record.item_id)
        if key in self.t.items:
            return True  # this call's own earlier attempt
        meta = self.t.lists.get((shop, record.list_id))
        if meta is None or meta.owner != record.owner or meta.item_count >= cap:
            return False
        self.t.lists[(shop, record.list_id)] = replace(meta, item_count=meta.item_count + 1)
        self.t.items[key] = record
        self.faults.wrote()
        return True

    def delete(self, shop: str, owner: str, list_id: str, item_id: str) -> bool:
        item, meta = self.get(shop, list_id, item_id), self.t.lists.get((shop, list_id))
        if item is None or item.owner != owner or meta is None or meta.owner != owner or meta.item_count <= 0:
            return False
        del self.t.items[(shop, list_id, item_id)]
        self.t.lists[(shop, list_id)] = replace(meta, item_count=meta.item_count - 1)
        self.faults.wrote()
        return True

    def _reserve_once(
        self, shop: str, list_id: str, item_id: str, reservation_id: str, hold: Hold, release: dict[str, int]
    ) -> Reservation:
        item = self.get(shop, list_id, item_id)
        need = hold.quantity - sum(release.values())
        if item is None:
            return Reservation(taken=False)
        if item.available < need or any(rid not in item.holds for rid in release):
            return Reservation(taken=reservation_id in item.holds, item=item)
        holds = {rid: h for rid, h in item.holds.items() if rid not in release}
        holds[reservation_id] = hold
        self.t.items[(shop, list_id, item_id)] = replace(
            item, available=item.available - need, holds=holds, version=item.version + 1
        )
        self.faults.wrote()
        return Reservation(taken=True)

    def reserve(
        self, shop: str, list_id: str, item_id: str, reservation_id: str, hold: Hold, release: dict[str, int]
    ) -> Reservation:
        if self.faults.before_reserve is not None:
            self.faults.before_reserve()
        if self.faults.lost_answers:
            self.faults.lost_answers -= 1
            self._reserve_once(shop, list_id, item_id, reservation_id, hold, release)
        return self._reserve_once(shop, list_id, item_id, reservation_id, hold, release)

    def save(self, shop: str, before: ItemRecord, after: ItemState) -> bool:
        if self.faults.before_save is not None:
            self.faults.before_save()
        key = (shop, before.list_id, before.item_id)
        current = self.t.items.get(key)
        if current is None or current.version != before.version:
            return False
        self.t.items[key] = replace(
            current,
            holds=dict(after.holds),
            fills=dict(after.fills),
            available=after.available,
            fulfilled_quantity=after.fulfilled,
            version=before.version + 1,
        )
        self.faults.wrote()
        return True


class FakeShares:
    def __init__(self, tables: Tables, faults: Faults) -> None:
        self.t, self.faults = tables, faults

    def get(self, shop: str, token: str) -> ShareRecord | None:
        return self.t.shares.get((shop, token))

    def share(self, shop: str, record: ShareRecord) -> bool:
        meta = self.t.lists.get((shop, record.list_id))
        if (
            meta is None
            or meta.owner != record.owner
            or meta.share_token
            or (shop, record.token) in self.t.shares
        ):
            return False
        self.t.lists[(shop, record.list_id)] = replace(meta, share_token=record.token)
        self.t.shares[(shop, record.token)] = record
        self.faults.wrote()
        return True

    def revoke(self, shop: str, list_id: str, owner: str, token: str) -> bool:
        meta = self.t.lists.get((shop, list_id))
        if meta is None or meta.owner != owner or meta.share_token != token:
            return False
        self.t.lists[(shop, list_id)] = replace(meta, share_token=None)
        self.t.shares.pop((shop, token), None)
        self.faults.wrote()
        return True


class FakeOrders:
    def __init__(self, tables: Tables, faults: Faults) -> None:
        self.t, self.faults = tables, faults

    def put_line(self, shop: str, record: OrderLineRecord) -> None:
        self.t.lines[(shop, record.order_id, record.line_id)] = record
        self.faults.wrote()

    def get_line(self, shop: str, order_id: str, line_id: str) -> OrderLineRecord | None:
        return self.t.lines.get((shop, order_id, line_id))

    def put_pending_refund(self, shop: str, refund: PendingRefund) -> None:
        self.t.refunds[(shop, refund.order_id, refund.refund_id, refund.line_id)] = refund
        self.faults.wrote()

    def pending_refunds(self, shop: str, order_id: str) -> list[PendingRefund]:
        return [r for (s, o, _, _), r in sorted(self.t.refunds.items()) if (s, o) == (shop, order_id)]


@dataclass
class FakeWishlist:
    """Every fake repository over one set of tables, the faults they share, and the messages
    published (a failing publish raises ``publish_failure`` once)."""

    tables: Tables = field(default_factory=Tables)
    faults: Faults = field(default_factory=Faults)
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    publish_failure: Exception | None = None

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self.publish_failure is not None:
            failure, self.publish_failure = self.publish_failure, None
            raise failure
        self.published.append((topic, message))

    def stores(self) -> Stores:
        return Stores(
            lists=FakeLists(self.tables, self.faults),
            items=FakeItems(self.tables, self.faults),
            shares=FakeShares(self.tables, self.faults),
            orders=FakeOrders(self.tables, self.faults),
            publish=self.publish,
        )
