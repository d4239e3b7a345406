"""The append-only ledger of a distributor (``dist#...`` / ``entry#<at>#<entry_id>``): entry
ids are business keys, so an entry is written once however often it is posted."""

from __future__ import annotations

from collections.abc import Iterable

from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution.domain import Entry
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import entry_from_dict, entry_item

RECONCILE_PAGE = 1000


class Ledger:
    def put_entries(self, shop: str, distributor_id: str, entries: Iterable[Entry]) -> None:
        """Append entries; an entry that exists is left alone (its id is a business key)."""
        for entry in entries:
            writes.create(table.name(), entry_item(shop, distributor_id, entry))

    def all_entries(self, shop: str, distributor_id: str) -> list[Entry]:
        """Every ledger entry of a distributor (pages of 1,000, for reconciliation)."""
        items = paging.query_all(
            table=table.name(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(pk=keys.dist_pk(shop, distributor_id), prefix=keys.ENTRY_PREFIX),
            consistent=True,
            page_size=RECONCILE_PAGE,
        )
        return [entry_from_dict(item) for item in items]

    def entries_before(self, shop: str, distributor_id: str, end: str) -> list[Entry]:
        """Every entry of a distributor dated before ``end`` (an RFC 3339 time), oldest first."""
        items = paging.query_all(
            table=table.name(),
            key_condition="pk = :pk AND sk BETWEEN :lo AND :hi",
            expression_values=codec.values(
                pk=keys.dist_pk(shop, distributor_id), lo=keys.ENTRY_PREFIX, hi=keys.ENTRY_PREFIX + end
            ),
            consistent=True,
            page_size=RECONCILE_PAGE,
        )
        return [entry_from_dict(item) for item in items]

    def entries_page(
        self, shop: str, distributor_id: str, page: paging.PageParams, kind: str | None
    ) -> tuple[list[Entry], str | None]:
        """A page of a distributor's entries, newest first (``kind`` filters)."""
        items, cursor = paging.query_page(
            table=table.name(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(
                pk=keys.dist_pk(shop, distributor_id),
                prefix=keys.ENTRY_PREFIX,
                **({"kind": kind} if kind else {}),
            ),
            filter_expression="kind = :kind" if kind else None,
            page=page,
            forward=False,
            consistent=True,
        )
        return [entry_from_dict(item) for item in items], cursor
