"""The distribution table's name and the two calls the storage kit does not wrap: a plain
read of one item, and a put under a condition other than "absent"."""

from __future__ import annotations

from typing import Any

from campaign_shared import aws
from campaign_shared.resources import service, table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import codec, failures, reads


def name() -> str:
    return table_name(get_settings().stage, "distribution", service("distribution").table("main").logical)


def get(key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
    """One item as a plain dict (``None`` when absent)."""
    return reads.get(name(), key, consistent=consistent)


def put_if(item: dict[str, Any], *, condition: str, values: dict[str, Any]) -> bool:
    """Put ``item`` (a plain dict) under ``condition``; False when it was refused."""
    params: dict[str, Any] = {
        "TableName": name(),
        "Item": codec.to_item(item),
        "ConditionExpression": condition,
    }
    if values:  # DynamoDB refuses an empty (or unused) ExpressionAttributeValues
        params["ExpressionAttributeValues"] = codec.values(**values)
    try:
        aws.dynamodb().put_item(**params)
        return True
    except Exception as exc:
        if failures.is_conditional_failure(exc):
            return False
        raise
