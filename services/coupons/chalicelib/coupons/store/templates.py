"""Templates and their lucky amounts. Both never change once written, so a process keeps
what it read once (bounded caches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from campaign_shared.storage import paging
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import lucky_chunk_of, lucky_key, shard_key, table, template_key
from chalicelib.coupons.store.records import Shard, Template

CACHE_LIMIT = 4096


def _remember(cache: dict[tuple[str, str], Any], key: tuple[str, str], value: Any) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


class DynamoTemplates:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], Template] = {}
        self._lucky: dict[tuple[str, str], list[int]] = {}

    def create(
        self, shop: str, template: Template, caps: Sequence[int], lucky: Sequence[Sequence[int]]
    ) -> None:
        tid = template.template_id
        children: list[dict[str, Any]] = [
            {**shard_key(shop, tid, n), **Shard(cap=cap).to_item()} for n, cap in enumerate(caps)
        ]
        children += [{**lucky_key(shop, tid, k), "amounts": list(amounts)} for k, amounts in enumerate(lucky)]
        paging.batch_put(table(), children)
        # The id is new for this request: "already exists" means an earlier attempt of this same
        # call committed and its answer was lost (a retry after a dropped connection), so it is done.
        items.create(template_key(shop, tid), template.to_item())

    def get(self, shop: str, template_id: str) -> Template | None:
        key = template_key(shop, template_id)
        cache_key = (table(), key["pk"])
        found = self._templates.get(cache_key)
        if found is None:
            item = items.get(key)
            if item is None:
                return None
            found = Template.from_item(item)
            _remember(self._templates, cache_key, found)
        return found

    def lucky_amounts(self, shop: str, template_id: str, chunks: Sequence[int]) -> dict[int, list[int]]:
        name = table()
        result: dict[int, list[int]] = {}
        missing = []
        for chunk in dict.fromkeys(chunks):
            cached = self._lucky.get((name, lucky_key(shop, template_id, chunk)["pk"]))
            if cached is None:
                missing.append(chunk)
            else:
                result[chunk] = cached
        if missing:
            for item in paging.batch_get(name, [lucky_key(shop, template_id, c) for c in missing]):
                amounts = [int(a) for a in item["amounts"]]
                _remember(self._lucky, (name, item["pk"]), amounts)
                result[lucky_chunk_of(item["pk"])] = amounts
        return result
