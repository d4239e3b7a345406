"""Commission rows (``dist#...`` / ``comm#<paid_at>#<order>#<line>#t<tier>``): a projection
of an order's facts, one row per line and tier, written as of an order version."""

from __future__ import annotations

from collections.abc import Iterable

from campaign_shared.storage import codec, paging
from chalicelib.distribution.domain import Commission
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import commission_from_item, commission_item


class Commissions:
    def put_rows(self, shop: str, rows: Iterable[Commission], version: int) -> None:
        """Write rows as of an order version; an older version never overwrites a newer."""
        for row in rows:
            table.put_if(
                commission_item(shop, row, version),
                condition="attribute_not_exists(pk) OR order_version < :v",
                values={"v": version},
            )

    def rows_page(
        self, shop: str, distributor_id: str, page: paging.PageParams, status: str | None
    ) -> tuple[list[Commission], str | None]:
        """A page of a distributor's rows, newest first (``status`` filters)."""
        items, cursor = paging.query_page(
            table=table.name(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(
                pk=keys.dist_pk(shop, distributor_id),
                prefix=keys.COMMISSION_PREFIX,
                **({"status": status} if status else {}),
            ),
            filter_expression="#st = :status" if status else None,
            expression_names={"#st": "status"} if status else None,
            page=page,
            forward=False,
        )
        return [commission_from_item(item) for item in items], cursor
