"""Share links: ``code#<shop>#<code>`` / ``link`` (the code's link) and ``dist#...`` /
``link#<product|*>`` (the owner's link for a product, or the shop)."""

from __future__ import annotations

from typing import Any

from campaign_shared import aws
from campaign_shared.storage import writes
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import LinkRecord

CACHE_SIZE = 10_000


class Links:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], LinkRecord] = {}

    def get(self, shop: str, code: str) -> LinkRecord | None:
        """The link of a code. Links never change once made, so found ones are cached."""
        cache_key = (table.name(), shop, code)
        found = self._cache.get(cache_key)
        if found is None:
            item = table.get(keys.code_key(shop, code), consistent=False)
            if item is None:
                return None
            found = LinkRecord.from_item(item)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[cache_key] = found
        return found

    def get_owned(self, shop: str, distributor_id: str, product_id: str | None) -> LinkRecord | None:
        item = table.get(keys.owned_link_key(shop, distributor_id, product_id))
        return LinkRecord.from_item(item) if item else None

    def create(self, shop: str, link: LinkRecord) -> bool:
        """Reserve a code (False if taken), then record it as the owner's link for the product;
        returns False too when the owner got a link for that product meanwhile.

        A write whose answer was lost and which was retried meets its own item: an item equal
        to the one written is this call's own, never "taken" (before, the owner's retried
        record was taken for a rival, its code deleted, and the link handed out pointed
        nowhere)."""
        code_key = keys.code_key(shop, link.code)

        def mine(existing: dict[str, Any]) -> bool:
            return LinkRecord.from_item(existing) == link

        code_item = {"pk": keys.code_pk(shop, link.code), "sk": keys.LINK, **link.to_dict()}
        if not writes.create(table.name(), code_item, mine=mine).applied:
            return False
        owned_key = keys.owned_link_key(shop, link.distributor_id, link.product_id)
        owned_item = {"pk": owned_key["pk"]["S"], "sk": owned_key["sk"]["S"], **link.to_dict()}
        if writes.create(table.name(), owned_item, mine=mine).applied:
            return True
        aws.dynamodb().delete_item(TableName=table.name(), Key=code_key)
        return False
