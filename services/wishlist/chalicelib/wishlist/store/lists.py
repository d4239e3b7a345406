"""Lists: the list record, its owner's counter (the 20-list cap) and the owner's index."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import codec, paging
from chalicelib.wishlist.store import keys, table
from chalicelib.wishlist.store.ports import View
from chalicelib.wishlist.store.records import OWNER_FIELDS, PUBLIC_FIELDS, ItemRecord, ListRecord, is_list

_FIELDS: dict[str, tuple[str, ...]] = {"owner": OWNER_FIELDS, "public": PUBLIC_FIELDS}


class ListRepository:
    def create(self, record: ListRecord, cap: int) -> bool:
        shop, owner = record.shop, record.owner
        failed = table.transact(
            table.entry(
                "Update",
                keys.owner_key(shop, owner),
                "attribute_not_exists(list_count) OR list_count < :cap",
                update="SET list_count = if_not_exists(list_count, :zero) + :one",
                values={"zero": 0, "one": 1, "cap": cap},
            ),
            table.entry("Put", {}, "attribute_not_exists(pk)", item=record.to_item()),
        )
        return failed is None or table.created_by_earlier_attempt(failed)

    def page_of_owner(
        self, shop: str, owner: str, page: paging.PageParams
    ) -> tuple[list[ListRecord], str | None]:
        found, cursor = paging.query_page(
            table=table.table(),
            key_condition="gsi1pk = :p",
            expression_values=codec.values(p=keys.owner_pk(shop, owner)),
            page=page,
            index="gsi1",
            forward=False,
        )
        return [ListRecord.from_item(r) for r in found], cursor

    def get(self, shop: str, list_id: str) -> ListRecord | None:
        found = table.get(keys.list_key(shop, list_id))
        return ListRecord.from_item(found) if found is not None else None

    def load(self, shop: str, list_id: str, view: View) -> tuple[ListRecord | None, list[ItemRecord]]:
        fields = _FIELDS[view]
        meta: ListRecord | None = None
        items: list[ItemRecord] = []
        for record in paging.query_all(
            table=table.table(),
            key_condition="pk = :p",
            expression_values=codec.values(p=keys.list_pk(shop, list_id)),
            consistent=True,
            projection=", ".join(f"#p{n}" for n in range(len(fields))),
            expression_names={f"#p{n}": name for n, name in enumerate(fields)},
        ):
            if is_list(record):
                meta = ListRecord.from_item(record)
            else:
                items.append(ItemRecord.from_item(record))
        return meta, items

    def delete(self, shop: str, owner: str, list_id: str) -> bool:
        """Remove the list and free its place under the cap; its items and share go after."""
        meta = self.get(shop, list_id)
        if meta is None or meta.owner != owner:
            return False
        failed = table.transact(
            table.entry("Delete", keys.list_key(shop, list_id), "#o = :o", values={"o": owner}),
            table.entry(
                "Update",
                keys.owner_key(shop, owner),
                "list_count > :zero",
                update="SET list_count = list_count - :one",
                values={"one": 1, "zero": 0},
            ),
        )
        if failed is not None:
            return False
        leftovers: list[dict[str, Any]] = []
        if meta.share_token:
            leftovers.append({"pk": keys.share_pk(shop, meta.share_token), "sk": keys.SHARE_SK})
        for record in paging.query_all(
            table=table.table(),
            key_condition="pk = :p",
            expression_values=codec.values(p=keys.list_pk(shop, list_id)),
            consistent=True,
            projection="#sk",
            expression_names={"#sk": "sk"},
        ):
            leftovers.append({"pk": keys.list_pk(shop, list_id), "sk": record["sk"]})
        # The list is gone: rows a busy table keeps refusing are unreachable, not an error.
        table.batch_delete(leftovers)
        return True
