"""The coupons table. The only modules touching DynamoDB are this one (keys, helpers,
limits, coupons), ``store_stock`` (templates, stock), ``store_jobs`` (jobs, grants) and
``store_orders`` (what order events write: redemptions, their counts, conflicts).
Every key carries the shop, so another shop's id is simply not found.

Items (one table, ``pk``/``sk``; key parts escape ``%`` and ``#``):

- ``tpl#<shop>#<template>`` / ``meta``: the template's terms (``store_stock``).
- ``stock#<shop>#<template>#<n>`` / ``stock``: stock shard n: ``taken`` of ``cap`` units,
  ``redeemed``, and ``inflight`` markers: blocks of claims, bulk jobs and grants (see
  ``store_stock.take_block``) and redemption counts (``store_orders``).
  Each shard is its own partition key, so a grab is not capped by one partition's
  1,000 write units/s.
- ``lucky#<shop>#<template>#<k>`` / ``lucky``: lucky amounts of slots ``k*1000 ..``.
- ``limit#<shop>#<template>#<customer>`` / ``limit``: ``n`` coupons issued to the customer
  and the ``holders`` (issue keys) that took them, for the per-customer limit.
- ``cust#<shop>#<customer>`` / ``coupon#<coupon>``: a coupon; the customer's partition is
  their wallet (``GET /me`` is one Query). ``conflicts``: paid orders that named it but did
  not redeem it, with ``conflict_events`` (their event ids, so each is recorded once).

No claim or order-event path uses a Query or a transaction: moto scans the table for both, so their
latency would grow with the data (DESIGN.md); every call there is a single-item write.
"""

from __future__ import annotations

import time
from typing import Any

from campaign_shared import aws, dynamo
from campaign_shared.resources import table_name
from campaign_shared.resources.coupons import template_key as published_template_key
from campaign_shared.settings import get_settings


def table() -> str:
    return table_name(get_settings().stage, "coupons", "main")


def _part(value: str) -> str:
    return value.replace("%", "%25").replace("#", "%23")


def _pk(*parts: str | int) -> str:
    return "#".join(_part(str(p)) for p in parts)


def template_key(shop: str, template_id: str) -> dict[str, Any]:
    # Published in the resource definition: the referral service reads it by key.
    return dict(published_template_key(shop, template_id))


def shard_key(shop: str, template_id: str, shard: int) -> dict[str, Any]:
    return {"pk": _pk("stock", shop, template_id, shard), "sk": "stock"}


def lucky_key(shop: str, template_id: str, chunk: int) -> dict[str, Any]:
    return {"pk": _pk("lucky", shop, template_id, chunk), "sk": "lucky"}


def limit_key(shop: str, template_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": _pk("limit", shop, template_id, customer_id), "sk": "limit"}


def coupon_key(shop: str, customer_id: str, coupon_id: str) -> dict[str, Any]:
    return {"pk": _pk("cust", shop, customer_id), "sk": _pk("coupon", coupon_id)}


def job_key(shop: str, job_id: str) -> dict[str, Any]:
    return {"pk": _pk("job", shop, job_id), "sk": "job"}


def plan_key(shop: str, job_id: str, chunk: int) -> dict[str, Any]:
    return {"pk": _pk("plan", shop, job_id, chunk), "sk": "plan"}


def grant_key(shop: str, grant_id: str) -> dict[str, Any]:
    return {"pk": _pk("grant", shop, grant_id), "sk": "grant"}


def _strip(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


# ---- generic helpers ---------------------------------------------------------------------


def get(key: dict[str, Any], consistent: bool = True) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(TableName=table(), Key=dynamo.to_item(key), ConsistentRead=consistent)
    return _strip(dynamo.from_item(response.get("Item")))


def batch_get(keys: list[dict[str, Any]], consistent: bool = True) -> list[dict[str, Any]]:
    """Items of ``keys`` that exist (any order), 100 keys per call, unprocessed keys retried."""
    found: list[dict[str, Any]] = []
    name = table()
    for start in range(0, len(keys), 100):
        request = {
            name: {
                "Keys": [dynamo.to_item(k) for k in keys[start : start + 100]],
                "ConsistentRead": consistent,
            }
        }
        for attempt in range(8):
            response = aws.dynamodb().batch_get_item(RequestItems=request)
            found.extend(dynamo.from_item(i) or {} for i in response.get("Responses", {}).get(name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise RuntimeError("batch read kept coming back unprocessed")
    return found


def batch_put(items: list[dict[str, Any]]) -> None:
    """Unconditional puts, 25 per call, unprocessed items retried with backoff."""
    name = table()
    for start in range(0, len(items), 25):
        request = {name: [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in items[start : start + 25]]}
        for attempt in range(8):
            request = aws.dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise RuntimeError("batch write kept coming back unprocessed")


def put_new(key: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Put an item unless it exists; False when it did."""
    return dynamo.put_new(table(), dynamo.to_item({**attributes, **key}))


def _old(exc: BaseException) -> dict[str, Any]:
    """The item a failed conditional write saw (``ReturnValuesOnConditionCheckFailure``)."""
    response = getattr(exc, "response", None) or {}
    return dynamo.from_item(response.get("Item")) or {}


def update(
    key: dict[str, Any],
    expression: str,
    condition: str | None = None,
    *,
    names: dict | None = None,
    values: dict[str, Any] | None = None,
    returns: str = "NONE",
) -> tuple[bool, dict[str, Any]]:
    """One UpdateItem. (True, returned attributes) or, when the condition failed,
    (False, the item as it was)."""
    params: dict[str, Any] = {
        "TableName": table(),
        "Key": dynamo.to_item(key),
        "UpdateExpression": expression,
        "ReturnValues": returns,
    }
    if condition:
        params["ConditionExpression"] = condition
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = dynamo.values(**values)
    try:
        response = aws.dynamodb().update_item(**params)
    except Exception as exc:
        if dynamo.is_conditional_failure(exc):
            return False, _strip(_old(exc)) or {}
        raise
    return True, _strip(dynamo.from_item(response.get("Attributes"))) or {}


# ---- per-customer limits ---------------------------------------------------------------------


def reserve(shop: str, template_id: str, customer_id: str, limit: int, holder: str | None = None) -> str:
    """Count one coupon against the customer's limit. One conditional write: exact under any
    concurrency. ``"reserved"``, or ``"limit_reached"``.

    With ``holder`` (the issue key of a grant or a bulk job) the count remembers who took it,
    and a retry of the same holder answers ``"held"`` instead of counting twice. Claims pass
    no holder, so their record stays a few bytes (one write unit) however many they make.
    """
    if holder is None:
        ok, _ = update(
            limit_key(shop, template_id, customer_id),
            "ADD n :one",
            "attribute_not_exists(n) OR n < :limit",
            values={"one": 1, "limit": limit},
        )
        return "reserved" if ok else "limit_reached"
    ok, old = update(
        limit_key(shop, template_id, customer_id),
        "ADD n :one, holders :holder",
        "(attribute_not_exists(n) OR n < :limit) AND NOT contains(holders, :key)",
        values={"one": 1, "holder": {holder}, "key": holder, "limit": limit},
    )
    if ok:
        return "reserved"
    return "held" if holder in (old.get("holders") or ()) else "limit_reached"


def release(shop: str, template_id: str, customer_id: str, holder: str | None = None) -> None:
    """Give back a count (the stock ran out). With ``holder``: only if it holds one, so a
    retried release gives back nothing more; without: the caller's own fresh count."""
    key = limit_key(shop, template_id, customer_id)
    if holder is None:
        update(key, "ADD n :minus", "n > :zero", values={"minus": -1, "zero": 0})
        return
    update(
        key,
        "ADD n :minus DELETE holders :holder",
        "contains(holders, :key)",
        values={"minus": -1, "holder": {holder}, "key": holder},
    )


# ---- coupons ---------------------------------------------------------------------------------


def put_coupon(shop: str, coupon: dict[str, Any]) -> bool:
    return put_new(coupon_key(shop, coupon["customer_id"], coupon["coupon_id"]), coupon)


def put_coupons(shop: str, coupons: list[dict[str, Any]]) -> None:
    batch_put([{**c, **coupon_key(shop, c["customer_id"], c["coupon_id"])} for c in coupons])


def get_coupon(shop: str, customer_id: str, coupon_id: str) -> dict[str, Any] | None:
    return get(coupon_key(shop, customer_id, coupon_id))


def existing_coupons(shop: str, pairs: list[tuple[str, str]]) -> set[str]:
    """Which of (customer, coupon) pairs exist, as coupon ids."""
    return {i["coupon_id"] for i in batch_get([coupon_key(shop, c, k) for c, k in pairs])}


def list_coupons(
    shop: str, customer_id: str, page: dynamo.PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    items, cursor = dynamo.query_page(
        table=table(),
        key_condition="pk = :pk AND begins_with(sk, :prefix)",
        expression_values=dynamo.values(pk=_pk("cust", shop, customer_id), prefix="coupon#"),
        page=page,
        consistent=True,
    )
    return [_strip(i) or {} for i in items], cursor


def lock_coupon(
    shop: str, customer_id: str, coupon_id: str, order_id: str, now_iso: str
) -> tuple[bool, dict]:
    """available (and not expired) -> locked to ``order_id``. (True, new) or (False, as it was)."""
    return update(
        coupon_key(shop, customer_id, coupon_id),
        "SET #st = :locked, order_id = :order, locked_at = :now",
        "attribute_exists(pk) AND #st = :available"
        " AND (attribute_not_exists(expires_at) OR expires_at > :now)",
        names={"#st": "status"},
        values={"locked": "locked", "available": "available", "order": order_id, "now": now_iso},
        returns="ALL_NEW",
    )
