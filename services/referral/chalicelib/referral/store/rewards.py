"""Rewards: the coupons service's answers, and grants left unanswered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign_shared import aws, dynamo
from chalicelib.referral.store import keys


def reward_items(shop: str, customer_id: str, grant_ids: Iterable[str]) -> list[dict[str, Any]]:
    found = []
    for gid in grant_ids:
        response = aws.dynamodb().get_item(
            TableName=keys.table("main"),
            Key=keys.customer_key(shop, customer_id, keys.reward_sk(gid)),
            ConsistentRead=True,
        )
        item = dynamo.from_item(response.get("Item"))
        if item is not None:
            found.append(item)
    return found


def record_grant_result(
    shop: str,
    customer_id: str,
    grant_id: str,
    status: str,
    coupon_id: str | None,
    reason: str | None,
    now: str,
) -> str:
    """Record the coupons service's answer: ``recorded``, ``unchanged`` (already final) or
    ``unknown`` (no such reward). An issued coupon wins over an earlier failure; a failure
    never replaces an issued coupon."""
    item_key = keys.customer_key(shop, customer_id, keys.reward_sk(grant_id))
    if status == "issued":
        sets = "SET #s = :s, updated_at = :now" + (", coupon_id = :c" if coupon_id is not None else "")
        params = {
            "UpdateExpression": sets + " REMOVE reason, gsi1pk, gsi1sk",
            "ConditionExpression": "attribute_exists(pk) AND #s <> :s",
            "ExpressionAttributeValues": dynamo.values(s="issued", now=now),
        }
        if coupon_id is not None:
            params["ExpressionAttributeValues"].update(dynamo.values(c=coupon_id))
    else:
        params = {
            "UpdateExpression": "SET #s = :s, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk",
            "ConditionExpression": "attribute_exists(pk) AND #s = :pending",
            "ExpressionAttributeValues": dynamo.values(
                s="failed", r=reason or "failed", now=now, pending="pending"
            ),
        }
    try:
        aws.dynamodb().update_item(
            TableName=keys.table("main"), Key=item_key, ExpressionAttributeNames={"#s": "status"}, **params
        )
    except keys.client_error() as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        existing = aws.dynamodb().get_item(TableName=keys.table("main"), Key=item_key, ConsistentRead=True)
        return "unchanged" if "Item" in existing else "unknown"
    return "recorded"


def stale_pending_rewards(sent_before: str, limit: int = 100) -> list[dict[str, Any]]:
    """Pending rewards whose grant was last sent before ``sent_before`` (oldest first)."""
    response = aws.dynamodb().query(
        TableName=keys.table("main"),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk AND gsi1sk < :before",
        ExpressionAttributeValues=dynamo.values(pk=keys.PENDING_INDEX_KEY, before=sent_before),
        Limit=limit,
    )
    return [dynamo.from_item(i) or {} for i in response.get("Items", [])]


def _update_pending(item: dict[str, Any], expression: str, **values: Any) -> None:
    """Update a reward that is still pending; one already answered is left alone."""
    try:
        aws.dynamodb().update_item(
            TableName=keys.table("main"),
            Key=keys.key(item["pk"], item["sk"]),
            UpdateExpression=expression,
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=dynamo.values(pending="pending", **values),
        )
    except keys.client_error() as exc:
        if not dynamo.is_conditional_failure(exc):
            raise


def mark_resent(item: dict[str, Any], now: str) -> None:
    _update_pending(
        item,
        "SET gsi1sk = :sk, updated_at = :now ADD sends :one",
        sk=f"{now}#{item['grant_id']}",
        now=now,
        one=1,
    )


def mark_unanswered(item: dict[str, Any], reason: str, now: str) -> None:
    _update_pending(
        item,
        "SET #s = :failed, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk",
        failed="failed",
        r=reason,
        now=now,
    )
