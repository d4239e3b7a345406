"""Share links: the share record is the one source of truth of a token. Revoking deletes it
in the transaction that clears the list's token, so the old token is 404 from that write on."""

from __future__ import annotations

from chalicelib.wishlist.store import keys, table
from chalicelib.wishlist.store.records import ShareRecord


class ShareRepository:
    def get(self, shop: str, token: str) -> ShareRecord | None:
        found = table.get(keys.share_key(shop, token))
        return ShareRecord.from_item(token, found) if found is not None else None

    def share(self, shop: str, record: ShareRecord) -> bool:
        failed = table.transact(
            table.entry(
                "Update",
                keys.list_key(shop, record.list_id),
                "#o = :o AND attribute_not_exists(share_token)",
                update="SET share_token = :t",
                values={"t": record.token, "o": record.owner},
            ),
            table.entry("Put", {}, "attribute_not_exists(pk)", item=record.to_item(shop)),
        )
        return failed is None

    def revoke(self, shop: str, list_id: str, owner: str, token: str) -> bool:
        failed = table.transact(
            table.entry(
                "Update",
                keys.list_key(shop, list_id),
                "#o = :o AND share_token = :t",
                update="REMOVE share_token",
                values={"t": token, "o": owner},
            ),
            table.entry("Delete", keys.share_key(shop, token)),
        )
        return failed is None
