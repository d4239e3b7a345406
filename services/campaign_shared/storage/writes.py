"""Conditional writes that are safe to retry.

A write whose answer was lost is retried (by botocore, by our retry, or by the client). A
conditional write then fails *against itself*: the item it made, or the change it made, is
already there. Each helper takes ``mine``, a test of the item the failed write saw, that
tells the caller's own earlier write from somebody else's; when it matches, the write is
reported as done. ``mine`` must be specific to this request (a fresh id it wrote, a token it
recorded), never only "the item exists".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from campaign_shared import aws
from campaign_shared.storage.codec import from_item, to_item
from campaign_shared.storage.failures import is_conditional_failure, old_item

Mine = Callable[[dict[str, Any]], bool]
Returns = Literal["ALL_NEW", "UPDATED_NEW", "NONE"]


@dataclass(frozen=True)
class Written:
    """The outcome of a conditional write: ``applied`` (by this call or by this request's own
    earlier attempt) and the item: after the write (``ALL_NEW``) when this call applied it,
    otherwise as the refused condition saw it (``None`` when there was no item)."""

    applied: bool
    item: dict[str, Any] | None


def create(
    table: str, item: dict[str, Any], *, key_attribute: str = "pk", mine: Mine | None = None
) -> Written:
    """Put ``item`` (a plain dict) unless an item with its key exists.

    ``applied`` is False when one existed, unless ``mine`` recognises it as this request's own."""
    try:
        aws.dynamodb().put_item(
            TableName=table,
            Item=to_item(item),
            ConditionExpression=f"attribute_not_exists({key_attribute})",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return Written(True, item)
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        existing = old_item(exc)
        return Written(existing is not None and mine is not None and mine(existing), existing)


def update(
    table: str,
    key: dict[str, Any],
    *,
    update: str,
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    mine: Mine | None = None,
    returns: Returns = "ALL_NEW",
) -> Written:
    """An ``UpdateItem`` (``key`` and ``values`` as AttributeValue maps) under ``condition``.

    ``applied`` is False when the condition was refused, unless ``mine`` recognises the item
    it saw as already carrying this request's change. ``returns`` is what an applied write
    answers with: the whole item (``ALL_NEW``), only the attributes it set (``UPDATED_NEW``),
    or nothing (``NONE``, ``item`` is None): on a hot item, ask only for what you read."""
    params: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": update}
    if returns != "NONE":
        params["ReturnValues"] = returns
    if condition:
        params["ConditionExpression"] = condition
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = values
    try:
        response = aws.dynamodb().update_item(**params)
        return Written(True, from_item(response.get("Attributes")))
    except Exception as exc:
        if not is_conditional_failure(exc):
            raise
        existing = old_item(exc)
        return Written(existing is not None and mine is not None and mine(existing), existing)


def transact(items: list[dict[str, Any]], *, token: str | None = None) -> None:
    """``TransactWriteItems`` of ``items``; with ``token`` (``ClientRequestToken``, at most 36
    characters) a retry within ten minutes is recognised by DynamoDB and not applied twice.
    A refusal raises ``TransactionCanceledException`` (see ``failures.cancellation_reasons``)."""
    params: dict[str, Any] = {"TransactItems": items}
    if token:
        params["ClientRequestToken"] = token[:36]
    aws.dynamodb().transact_write_items(**params)
