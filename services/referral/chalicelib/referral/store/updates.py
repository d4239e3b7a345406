"""Update expressions shared by the repositories: counters moved with ``ADD``, and what a
refused write of a read-decide-write loop means."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import codec, failures


def add_update(table: str, item_key: dict[str, Any], increments: dict[str, int]) -> dict[str, Any]:
    """UpdateItem parameters that ADD each of ``increments`` (counters may go down)."""
    names = {f"#a{i}": name for i, name in enumerate(increments)}
    values = {f":a{i}": codec.to_value(v) for i, v in enumerate(increments.values())}
    return {
        "TableName": table,
        "Key": item_key,
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(increments))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def lost_race(exc: BaseException) -> bool:
    """A refused condition or a transaction conflict: read again and decide again."""
    if failures.is_conditional_failure(exc):
        return True
    reasons = failures.cancellation_reasons(exc)
    return any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
