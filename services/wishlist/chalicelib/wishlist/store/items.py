"""Items: an item's description and the quantities reservations and order events change.

``avail`` (the record's ``available``) is ``quantity - fulfilled - every stored hold``. A
reservation is one conditional UpdateItem (``avail >= need``) with no read, so concurrent
friends never oversell and never need a transaction; when it fails, the item returned with
the failure tells whether releasing expired holds would make room, and whether the hold is
already this request's own (a retried write whose answer was lost). Everything else that
changes an item reads it, applies a pure ``domain`` function and saves it under ``ver``.
"""

from __future__ import annotations

from chalicelib.wishlist.domain import Hold, ItemState
from chalicelib.wishlist.store import keys, table
from chalicelib.wishlist.store.records import (
    LEGACY_ITEM_ATTRIBUTES,
    ItemRecord,
    Reservation,
    encode_fills,
    encode_hold,
    encode_holds,
)

_NAMES = {"#a": "avail", "#h": "holds", "#v": "ver"}


class ItemRepository:
    def get(self, shop: str, list_id: str, item_id: str) -> ItemRecord | None:
        found = table.get(keys.item_key(shop, list_id, item_id))
        return ItemRecord.from_item(found) if found is not None else None

    def add(self, shop: str, record: ItemRecord, cap: int) -> bool:
        failed = table.transact(
            table.entry(
                "Update",
                keys.list_key(shop, record.list_id),
                "#o = :o AND item_count < :cap",
                update="SET item_count = item_count + :one",
                values={"one": 1, "o": record.owner, "cap": cap},
            ),
            table.entry("Put", {}, "attribute_not_exists(pk)", item=record.to_item(shop)),
        )
        return failed is None or table.created_by_earlier_attempt(failed)

    def delete(self, shop: str, owner: str, list_id: str, item_id: str) -> bool:
        failed = table.transact(
            table.entry("Delete", keys.item_key(shop, list_id, item_id), "#o = :o", values={"o": owner}),
            table.entry(
                "Update",
                keys.list_key(shop, list_id),
                "#o = :o AND item_count > :zero",
                update="SET item_count = item_count - :one",
                values={"one": 1, "zero": 0, "o": owner},
            ),
        )
        return failed is None

    def reserve(
        self, shop: str, list_id: str, item_id: str, reservation_id: str, hold: Hold, release: dict[str, int]
    ) -> Reservation:
        names = {**_NAMES, "#new": reservation_id}
        conditions = ["attribute_exists(pk)", "#a >= :need"]
        removes = []
        for n, rid in enumerate(release):
            names[f"#x{n}"] = rid
            removes.append(f"#h.#x{n}")
            conditions.append(f"attribute_exists(#h.#x{n})")
        update = "SET #a = #a - :need, #h.#new = :hold, #v = #v + :one"
        if removes:
            update += " REMOVE " + ", ".join(removes)
        applied, seen = table.update_quietly(
            keys.item_key(shop, list_id, item_id),
            update=update,
            condition=" AND ".join(conditions),
            names=names,
            values={"need": hold.quantity - sum(release.values()), "hold": encode_hold(hold), "one": 1},
        )
        if applied:
            return Reservation(taken=True)
        if seen is None:
            return Reservation(taken=False)
        # A write whose answer was lost and retried fails its condition against itself: the
        # hold under this request's own (fresh) reservation id means it was taken.
        item = ItemRecord.from_item(seen)
        return Reservation(taken=reservation_id in item.holds, item=item)

    def save(self, shop: str, before: ItemRecord, after: ItemState) -> bool:
        removes = ", ".join(f"#old{n}" for n in range(len(LEGACY_ITEM_ATTRIBUTES)))
        applied, _ = table.update_quietly(
            keys.item_key(shop, before.list_id, before.item_id),
            update="SET #h = :holds, #f = :fills, #a = :avail, #q = :quantity, #fq = :fq, #v = :next"
            f" REMOVE {removes}",
            condition="#v = :ver",
            names={
                **_NAMES,
                "#f": "fills",
                "#q": "quantity",
                "#fq": "fulfilled_quantity",
                **{f"#old{n}": name for n, name in enumerate(LEGACY_ITEM_ATTRIBUTES)},
            },
            values={
                "holds": encode_holds(after.holds),
                "fills": encode_fills(after.fills),
                "avail": after.available,
                "quantity": after.quantity,
                "fq": after.fulfilled,
                "next": before.version + 1,
                "ver": before.version,
            },
        )
        return applied
