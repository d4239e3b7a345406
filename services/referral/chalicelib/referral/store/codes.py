"""Codes (``codes`` table): who owns a code. Codes never change owner, so found ones are cached."""

from __future__ import annotations

import threading

from campaign_shared import aws
from campaign_shared.storage import codec, paging, writes
from campaign_shared.storage.paging import PageParams
from chalicelib.referral.domain import CodeOwner
from chalicelib.referral.store import keys
from chalicelib.referral.store.records import CodeRecord

_CACHE_LIMIT = 10_000


class CodesRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], CodeOwner] = {}

    def get(self, shop: str, code: str) -> CodeOwner | None:
        table = keys.table("codes")
        found = self._cache.get((table, shop, code))
        if found is not None:
            return found
        response = aws.dynamodb().get_item(TableName=table, Key=keys.code_key(shop, code))
        item = codec.from_item(response.get("Item"))
        if item is None:
            return None
        owner = CodeRecord.from_item(shop, item).owner
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[(table, shop, code)] = owner
        return owner

    def create(self, record: CodeRecord) -> bool:
        item = record.to_item()
        # A retried write meets its own code (same owner, same creation time): created.
        mine = {k: item.get(k) for k in ("kind", "owner_id", "created_at")}
        written = writes.create(
            keys.table("codes"), item, mine=lambda old: {k: old.get(k) for k in mine} == mine
        )
        return written.applied

    def delete(self, shop: str, code: str) -> None:
        table = keys.table("codes")
        aws.dynamodb().delete_item(TableName=table, Key=keys.code_key(shop, code))
        with self._lock:
            self._cache.pop((table, shop, code), None)

    def page(self, shop: str, page: PageParams, prefix: str | None) -> tuple[list[CodeRecord], str | None]:
        condition = "pk = :pk"
        values = codec.values(pk=keys.codes_pk(shop))
        if prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values.update(codec.values(prefix=prefix))
        items, cursor = paging.query_page(
            table=keys.table("codes"), key_condition=condition, expression_values=values, page=page
        )
        return [CodeRecord.from_item(shop, item) for item in items], cursor
