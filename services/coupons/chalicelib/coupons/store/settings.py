"""The shop's settings (``settings#<shop>`` / ``settings``): one item, written whole by the
merchant. A lock reads it for a template without its own lock time, so a process keeps what
it read for ``CACHE_SECONDS`` (like templates); the process that writes it forgets at once."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import settings_key, table
from chalicelib.coupons.store.records import ShopSettings

CACHE_SECONDS = 2.0
CACHE_LIMIT = 4096


class DynamoShopSettings:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[float, ShopSettings]] = {}

    def get(self, shop: str, *, fresh: bool = False) -> ShopSettings:
        key = settings_key(shop)
        cache_key = (table(), key["pk"])
        cached = self._cache.get(cache_key)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        found = ShopSettings.from_item(items.get(key) or {})
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[cache_key] = (time.monotonic(), found)
        return found

    def put(self, shop: str, settings: ShopSettings) -> None:
        """Write the settings whole (a setting left out goes back to its default)."""
        key = settings_key(shop)
        values: dict[str, Any] = {"at": settings.updated_at, "by": settings.updated_by}
        expression = "SET updated_at = :at, updated_by = :by"
        if settings.lock_ttl_seconds is None:
            expression += " REMOVE lock_ttl_seconds"
        else:
            expression += ", lock_ttl_seconds = :ttl"
            values["ttl"] = settings.lock_ttl_seconds
        items.update(key, expression, values=values)
        self._cache.pop((table(), key["pk"]), None)
