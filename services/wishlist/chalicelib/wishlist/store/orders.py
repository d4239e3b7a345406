"""The order index: which item a paid line fulfilled, and refunds seen before their payment.
Both expire after ``ORDER_RECORD_DAYS`` (DynamoDB TTL)."""

from __future__ import annotations

from campaign_shared import clock
from campaign_shared.storage import codec, paging
from chalicelib.wishlist.store import keys, table
from chalicelib.wishlist.store.records import OrderLineRecord, PendingRefund

ORDER_RECORD_DAYS = 180


def _expiry() -> int:
    return clock.epoch(clock.now()) + ORDER_RECORD_DAYS * 86400


class OrderRepository:
    def put_line(self, shop: str, record: OrderLineRecord) -> None:
        table.put(record.to_item(shop, _expiry()))

    def get_line(self, shop: str, order_id: str, line_id: str) -> OrderLineRecord | None:
        found = table.get(keys.order_line_key(shop, order_id, line_id))
        return OrderLineRecord.from_item(order_id, line_id, found) if found is not None else None

    def put_pending_refund(self, shop: str, refund: PendingRefund) -> None:
        table.put(refund.to_item(shop, _expiry()))

    def pending_refunds(self, shop: str, order_id: str) -> list[PendingRefund]:
        return [
            PendingRefund.from_item(order_id, record)
            for record in paging.query_all(
                table=table.table(),
                key_condition="pk = :p AND begins_with(sk, :r)",
                expression_values=codec.values(p=keys.order_pk(shop, order_id), r=keys.REFUND_PREFIX),
                consistent=True,
            )
        ]
