"""Profiles (``main``) written together with the repurchase counters (``stats``).

A message's profile write and its counter changes go in one ``TransactWriteItems`` so a crash
can never leave one without the other (the counters stay exact); the profile's version
condition makes a concurrent writer retry from a fresh read. When a message changes no counter
(a refund of an order not yet paid) the profile is one conditional ``PutItem``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, failures, reads, writes
from campaign_shared.storage.keys import unpart
from chalicelib.audience.domain.automations import LiftCell
from chalicelib.audience.domain.counters import Cohort
from chalicelib.audience.store import keys
from chalicelib.audience.store.ports import CounterChanges
from chalicelib.audience.store.records import StoredProfile, cohort_from_item, lift_from_item


def _version_condition(expected: int) -> tuple[str, dict[str, Any]]:
    if expected == 0:
        return "attribute_not_exists(pk)", {}
    return "ver = :ver", codec.values(ver=expected)


def counter_update(shop: str, cell: Cohort | LiftCell, change: dict[str, int]) -> dict[str, Any]:
    """The ``Update`` entry adding ``change`` to a cohort's or a lift cell's counters."""
    names = {f"#f{i}": f for i, f in enumerate(change)}
    adds = ", ".join(f"#f{i} :f{i}" for i in range(len(change)))
    if isinstance(cell, LiftCell):
        return {
            "Update": {
                "TableName": keys.table("stats"),
                "Key": keys.lift_cell(shop, cell.rule_id, cell.day, cell.arm),
                "UpdateExpression": f"SET #day = :day, arm = :arm ADD {adds}",
                "ExpressionAttributeNames": {"#day": "day", **names},
                "ExpressionAttributeValues": codec.values(
                    day=cell.day, arm=cell.arm, **{f"f{i}": v for i, v in enumerate(change.values())}
                ),
            }
        }
    cohort = cell
    values = codec.values(
        day=cohort.day,
        ch=cohort.channel,
        rc=cohort.referral_code,
        dc=cohort.distributor_code,
        tpl=cohort.coupon_template_id,
        **{f"f{i}": v for i, v in enumerate(change.values())},
    )
    return {
        "Update": {
            "TableName": keys.table("stats"),
            "Key": keys.cohort(shop, cohort.day, cohort.combo),
            "UpdateExpression": f"SET #day = :day, ch = :ch, rc = :rc, dc = :dc, tpl = :tpl ADD {adds}",
            "ExpressionAttributeNames": {"#day": "day", **names},
            "ExpressionAttributeValues": values,
        }
    }


class ProfilesRepository:
    def get(self, shop: str, customer_id: str) -> StoredProfile | None:
        item = reads.get(keys.table("main"), keys.profile(shop, customer_id))
        return StoredProfile.from_item(item) if item else None

    def save(self, shop: str, new: StoredProfile, expected_version: int, changes: CounterChanges) -> bool:
        key = keys.profile(shop, new.customer_id)
        item = {**(codec.from_item(key) or {}), **new.to_item()}
        condition, values = _version_condition(expected_version)
        put: dict[str, Any] = {
            "TableName": keys.table("main"),
            "Item": codec.to_item(item),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        if not changes:
            try:
                aws.dynamodb().put_item(**put)
                return True
            except Exception as exc:
                if failures.is_conditional_failure(exc):
                    return False
                raise
        entries = [{"Put": put}] + [counter_update(shop, c, change) for c, change in changes.items()]
        # A retried call (the same entries) is recognised by DynamoDB (ClientRequestToken)
        # instead of tripping its own version condition; other content, another token.
        token = hashlib.sha256(json.dumps(entries, sort_keys=True, default=str).encode()).hexdigest()[:36]
        try:
            writes.transact(entries, token=token)
            return True
        except Exception as exc:
            if failures.is_cancelled_transaction(
                exc
            ) and "ConditionalCheckFailed" in failures.cancellation_reasons(exc):
                return False
            raise

    def shard_page(
        self, shop: str, shard: int, start: dict | None, limit: int
    ) -> tuple[list[StoredProfile], dict | None]:
        params: dict[str, Any] = {
            "TableName": keys.table("main"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": codec.values(pk=keys.profile_pk(shop, shard)),
            "Limit": limit,
        }
        if start:
            params["ExclusiveStartKey"] = codec.to_item(start)
        response = aws.dynamodb().query(**params)
        found = [StoredProfile.from_item(codec.from_item(i) or {}) for i in response.get("Items", [])]
        last = codec.from_item(response.get("LastEvaluatedKey"))
        return found, last


class CountersRepository:
    def read(self, shop: str, first_day: str, last_day: str) -> Iterator[tuple[Cohort, dict[str, int]]]:
        from campaign_shared.storage import paging

        for item in paging.query_all(
            table=keys.table("stats"),
            key_condition="pk = :pk AND sk BETWEEN :a AND :b",
            expression_values=codec.values(pk=keys.report_pk(shop), a=first_day, b=f"{last_day}#~"),
        ):
            yield cohort_from_item(item)

    def read_lift(
        self, shop: str, rule_id: str, first_day: str, last_day: str
    ) -> Iterator[tuple[str, dict[str, int]]]:
        from campaign_shared.storage import paging

        for item in paging.query_all(
            table=keys.table("stats"),
            key_condition="pk = :pk AND sk BETWEEN :a AND :b",
            expression_values=codec.values(pk=keys.lift_pk(shop, rule_id), a=first_day, b=f"{last_day}#~"),
        ):
            yield lift_from_item(item)


def customer_of(sort_key: str) -> str:
    return unpart(sort_key)
