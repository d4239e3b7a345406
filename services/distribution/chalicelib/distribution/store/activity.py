"""Reads for the levels' metrics and the performance reports: a distributor's ledger entries
within a time range (``dist#...`` / ``entry#<at>#...``, one Query read page after page).
Read cost: the entries in the range, about 330 bytes each with realistic ids (an accrual with its
``paid_amount``, ``customer_id``, ``rate_bps`` and ``level``), so about 12 entries per read
unit (strongly consistent), and one read unit at least per distributor."""

from __future__ import annotations

from campaign_shared.storage import codec, paging
from chalicelib.distribution.domain import Entry
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import entry_from_dict

PAGE = 1000


class Activity:
    def entries_between(self, shop: str, distributor_id: str, start: str | None, end: str) -> list[Entry]:
        """Entries dated in ``[start, end)`` (RFC 3339 times; ``start`` None: from the first),
        oldest first."""
        items = paging.query_all(
            table=table.name(),
            key_condition="pk = :pk AND sk BETWEEN :lo AND :hi",
            expression_values=codec.values(
                pk=keys.dist_pk(shop, distributor_id),
                lo=keys.ENTRY_PREFIX + (start or ""),
                hi=keys.ENTRY_PREFIX + end,
            ),
            consistent=True,
            page_size=PAGE,
        )
        return [entry_from_dict(item) for item in items]
