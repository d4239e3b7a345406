"""A shop's commission rules, the list of shops with rules, and the shop's counters of
orders that earned nothing."""

from __future__ import annotations

from campaign_shared import aws
from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import RulesRecord


class Shops:
    def get_rules(self, shop: str) -> RulesRecord | None:
        item = table.get(keys.rules_key(shop))
        return RulesRecord.from_item(item) if item else None

    def put_rules(self, shop: str, record: RulesRecord) -> None:
        aws.dynamodb().put_item(TableName=table.name(), Item=codec.to_item(record.to_item(shop)))

    def list_shops(self) -> list[str]:
        """Every shop with rules (the shops whose orders can earn commissions)."""
        items = paging.query_all(
            table=table.name(),
            index=keys.GSI,
            key_condition="gsi1pk = :p",
            expression_values=codec.values(p=keys.SHOPS),
        )
        return [str(item["gsi1sk"]) for item in items]

    def bump_stat(self, shop: str, name: str) -> None:
        writes.update(
            table.name(),
            keys.stats_key(shop),
            update="ADD #n :one",
            names={"#n": name},
            values=codec.values(one=1),
            returns="NONE",
        )

    def get_stats(self, shop: str) -> dict[str, int]:
        item = table.get(keys.stats_key(shop), consistent=False)
        if not item:
            return {}
        return {k: int(v) for k, v in item.items() if k not in keys.INDEX_ATTRIBUTES}
