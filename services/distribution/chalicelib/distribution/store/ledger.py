"""The append-only ledger of a distributor (``dist#...`` / ``entry#<at>#<entry_id>``): entry
ids are business keys and an entry's content is a function of the facts that imply it, so
writing an entry again writes the same item: entries are put in batches (25 per call), and a
repeated posting changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from campaign_shared.storage import codec, paging
from chalicelib.distribution.domain import Entry
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import entry_from_dict, entry_item

RECONCILE_PAGE = 1000


class Ledger:
    def put_entries(self, shop: str, distributor_id: str, entries: Iterable[Entry]) -> None:
        """Append entries (an entry written again is the same item: its id is a business key)."""
        self.put_many([(distributor_id, entry) for entry in entries], shop)

    def put_many(self, entries: Iterable[tuple[str, Entry]], shop: str) -> None:
        """Append entries of several distributors ((distributor, entry) pairs) in batches."""
        items = [entry_item(shop, distributor_id, entry) for distributor_id, entry in entries]
        if items:
            paging.batch_put(table.name(), items)

    def written(self, shop: str, entries: Iterable[tuple[str, Entry]]) -> set[tuple[str, str]]:
        """Which of ``entries`` ((distributor, entry) pairs) are in the ledger, as (distributor,
        entry id) pairs: consistent batch reads, 100 keys per call."""
        wanted = {
            (keys.dist_pk(shop, who), keys.entry_sk(e.at, e.entry_id)): (who, e.entry_id)
            for who, e in entries
        }
        if not wanted:
            return set()
        found = paging.batch_get(table.name(), [{"pk": pk, "sk": sk} for pk, sk in wanted], consistent=True)
        return {wanted[(str(item["pk"]), str(item["sk"]))] for item in found}

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
