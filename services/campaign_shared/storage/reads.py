"""Reading one item by its key: a consistent ``GetItem`` (what a read before a conditional
write needs) as a plain dict, optionally projected. Many items: ``paging``."""

from __future__ import annotations

from typing import Any

from campaign_shared import aws
from campaign_shared.storage.codec import from_item


def get(
    table: str,
    key: dict[str, Any],
    *,
    consistent: bool = True,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """The item at ``key`` (an AttributeValue map) as a plain dict, or None."""
    params: dict[str, Any] = {"TableName": table, "Key": key, "ConsistentRead": consistent}
    if projection:
        params["ProjectionExpression"] = projection
    if names:
        params["ExpressionAttributeNames"] = names
    return from_item(aws.dynamodb().get_item(**params).get("Item"))
