"""The wishlist table and the few write shapes its repositories share.

``update_quietly`` is ``writes.update`` asking for nothing back (a hot path must not read back
an item with a hundred holds it does not need); ``batch_delete`` is ``paging.batch_delete``
that leaves behind what a busy table keeps refusing.
"""

from __future__ import annotations

import uuid
from typing import Any

from campaign_shared import aws
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import codec, failures, paging, reads, writes


def table() -> str:
    return table_name(get_settings().stage, "wishlist", "main")


def entry(
    kind: str,
    key: dict[str, Any],
    condition: str | None = None,
    *,
    update: str | None = None,
    item: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One TransactWriteItems entry (``key`` as an AttributeValue map, ``item`` and ``values``
    plain); ``#o`` always names ``owner``."""
    body: dict[str, Any] = {"TableName": table()}
    if kind == "Put":
        body["Item"] = codec.to_item(item or {})
    else:
        body["Key"] = key
    if update:
        body["UpdateExpression"] = update
    if condition:
        body["ConditionExpression"] = condition
        if "#o" in condition:
            body["ExpressionAttributeNames"] = {"#o": "owner"}
    if values:
        body["ExpressionAttributeValues"] = codec.values(**values)
    return {kind: body}


def transact(*entries: dict[str, Any]) -> list[str] | None:
    """Write all or nothing; the per-entry reasons when a condition failed, else None.

    The fresh token makes a retried call (botocore retries after a dropped connection) a no-op
    on DynamoDB instead of a second attempt that trips its own conditions."""
    try:
        writes.transact(list(entries), token=str(uuid.uuid4()))
        return None
    except Exception as exc:
        if failures.is_cancelled_transaction(exc):
            reasons = failures.cancellation_reasons(exc)
            if "ConditionalCheckFailed" in reasons:
                return reasons
        raise


def created_by_earlier_attempt(reasons: list[str]) -> bool:
    """A counted create is (count update, put of a fresh server-made id). When the put's
    ``attribute_not_exists`` fails, the record with that fresh id exists already: an earlier
    attempt of this same call committed (an ambiguous failure, then a retry), so it is done."""
    return len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed"


def update_quietly(
    key: dict[str, Any], *, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
) -> tuple[bool, dict[str, Any] | None]:
    """A conditional ``UpdateItem`` that returns nothing when it lands: ``(True, None)``;
    ``(False, the item the refused condition saw)`` (``None`` when there was none)."""
    written = writes.update(
        table(),
        key,
        update=update,
        condition=condition,
        names=names,
        values=codec.values(**values),
        returns="NONE",
    )
    return written.applied, written.item


def get(key: dict[str, Any]) -> dict[str, Any] | None:
    return reads.get(table(), key)


def put(item: dict[str, Any]) -> None:
    aws.dynamodb().put_item(TableName=table(), Item=codec.to_item(item))


def batch_delete(item_keys: list[dict[str, Any]]) -> bool:
    """Delete ``item_keys`` (plain-dict keys) with the kit; False when some kept coming back
    (they are left behind)."""
    try:
        paging.batch_delete(table(), item_keys)
    except ServiceUnavailable:
        return False
    return True
