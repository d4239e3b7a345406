"""Automation rules (``main``): per shop, and in one small partition of every rule for the
scheduled runs; and the coupons service's templates, read-only by the key that table publishes
(``resources.coupons.template_key``: a rule must name an existing template)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from campaign_shared import aws
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import codec, paging, reads, writes
from chalicelib.audience.store import keys


def _plain(k: dict[str, Any]) -> dict[str, Any]:
    return codec.from_item(k) or {}


class RulesRepository:
    def create(self, shop: str, rule: dict[str, Any]) -> None:
        """The rule, then its entry in the list of every rule (both puts of a fresh id)."""
        writes.create(keys.table("main"), {**_plain(keys.rule(shop, rule["rule_id"])), **rule})
        writes.create(
            keys.table("main"),
            {**_plain(keys.rule_in_all(shop, rule["rule_id"])), "shop": shop, "rule_id": rule["rule_id"]},
        )

    def get(self, shop: str, rule_id: str) -> dict[str, Any] | None:
        return reads.get(keys.table("main"), keys.rule(shop, rule_id))

    def for_shop(self, shop: str) -> list[dict[str, Any]]:
        """Every rule of the shop (one Query of a small partition; read on each order message)."""
        return list(
            paging.query_all(
                table=keys.table("main"),
                key_condition="pk = :pk",
                expression_values=codec.values(pk=keys.rules_pk(shop)),
            )
        )

    def page(self, shop: str, page: paging.PageParams) -> tuple[list[dict[str, Any]], str | None]:
        return paging.query_page(
            table=keys.table("main"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=keys.rules_pk(shop)),
            page=page,
        )

    def everywhere(self) -> Iterator[tuple[str, str]]:
        for item in paging.query_all(
            table=keys.table("main"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=keys.ALL_RULES_PK),
        ):
            yield item["shop"], item["rule_id"]

    def template_exists(self, shop: str, template_id: str) -> bool:
        from campaign_shared.resources.coupons import template_key

        response = aws.dynamodb().get_item(
            TableName=table_name(get_settings().stage, "coupons", "main"),
            Key=codec.to_item(template_key(shop, template_id)),
            ProjectionExpression="pk",
        )
        return "Item" in response
