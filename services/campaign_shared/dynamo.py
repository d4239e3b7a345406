"""Transitional re-exports of the storage kit (``campaign_shared.storage``) under their old
names; removed once every caller imports the kit's modules."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage.codec import from_item, to_item, to_value, values
from campaign_shared.storage.failures import (
    RETRYABLE_CODES,
    cancellation_reasons,
    error_code,
    is_conditional_failure,
    translate,
)
from campaign_shared.storage.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PageParams,
    bind_cursors,
    decode_cursor,
    encode_cursor,
    query_page,
)


def put_new(table: str, item: dict[str, Any], key_attribute: str = "pk") -> bool:
    from campaign_shared import aws

    try:
        aws.dynamodb().put_item(
            TableName=table, Item=item, ConditionExpression=f"attribute_not_exists({key_attribute})"
        )
        return True
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "RETRYABLE_CODES",
    "PageParams",
    "bind_cursors",
    "cancellation_reasons",
    "decode_cursor",
    "encode_cursor",
    "error_code",
    "from_item",
    "is_conditional_failure",
    "put_new",
    "query_page",
    "to_item",
    "to_value",
    "translate",
    "values",
]
