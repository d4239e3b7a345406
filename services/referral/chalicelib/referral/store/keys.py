"""Table names, key builders and small helpers shared by the store modules (written once)."""

from __future__ import annotations

from typing import Any

from campaign_shared import dynamo
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings

# Sparse gsi1 partitions of the main table: rewards waiting for the coupons service's answer
# (a grant or a revoke sent; by last send time) and rewards held through their refund window
# (by release time). One partition each: a few writes per conversion, far below a GSI
# partition's 1,000 writes/s.
PENDING_INDEX_KEY = "pending-rewards"
HELD_INDEX_KEY = "held-rewards"


def table(logical: str) -> str:
    return table_name(get_settings().stage, "referral", logical)


def part(text: str) -> str:
    """A key part with ``%`` and ``#`` escaped, so no id can forge another shop's key."""
    return text.replace("%", "%25").replace("#", "%23")


def join(*parts: str) -> str:
    return "#".join(part(p) for p in parts)


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def codes_pk(shop: str) -> str:
    return "codes#" + part(shop)


def code_key(shop: str, code: str) -> dict[str, Any]:
    return key(codes_pk(shop), code)


def channel_key(shop: str, channel_id: str) -> dict[str, Any]:
    return key("channel#" + join(shop, channel_id), "channel")


def program_key(shop: str) -> dict[str, Any]:
    return key("program#" + part(shop), "program")


def customer_pk(shop: str, customer_id: str) -> str:
    return "customer#" + join(shop, customer_id)


def customer_key(shop: str, customer_id: str, sk: str) -> dict[str, Any]:
    return key(customer_pk(shop, customer_id), sk)


def reward_sk(grant_id: str) -> str:
    return f"reward#{grant_id}"


def stats_key(shop: str, code: str) -> dict[str, Any]:
    return key("stats#" + join(shop, code), "summary")


def visits_key(shop: str, code: str, shard: int) -> dict[str, Any]:
    return key("visits#" + join(shop, code, str(shard)), "visits")


def visitor_key(shop: str, code: str, visitor_id: str) -> dict[str, Any]:
    return {"pk": {"S": join(shop, code, visitor_id)}}


def add_update(table_name_: str, item_key: dict[str, Any], increments: dict[str, int]) -> dict[str, Any]:
    """UpdateItem parameters that ADD each of ``increments`` (counters may go down)."""
    names = {f"#a{i}": name for i, name in enumerate(increments)}
    values = {f":a{i}": dynamo.to_value(v) for i, v in enumerate(increments.values())}
    return {
        "TableName": table_name_,
        "Key": item_key,
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(increments))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


def lost_race(exc: BaseException) -> bool:
    """A refused condition or a transaction conflict: read again and decide again."""
    if dynamo.is_conditional_failure(exc):
        return True
    reasons = dynamo.cancellation_reasons(exc)
    return any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
