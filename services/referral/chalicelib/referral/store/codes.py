"""Codes, channels and the program."""

from __future__ import annotations

import threading
from typing import Any

from campaign_shared import aws, dynamo
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from chalicelib.referral.domain import CodeOwner, Program
from chalicelib.referral.store import keys

_CACHE_LIMIT = 10_000
_cache_lock = threading.Lock()
_code_cache: dict[tuple[str, str, str], CodeOwner] = {}


def owner_of(shop: str, item: dict[str, Any]) -> CodeOwner:
    """A code item's owner (the item's sort key is the code)."""
    return CodeOwner(
        shop=shop,
        code=item["sk"],
        kind=item["kind"],
        owner_id=item["owner_id"],
        name=item.get("name"),
    )


def get_code(shop: str, code: str) -> CodeOwner | None:
    """The owner of a code of ``shop`` (codes never change owner, so found ones are cached)."""
    cache_key = (keys.table("codes"), shop, code)
    found = _code_cache.get(cache_key)
    if found is not None:
        return found
    response = aws.dynamodb().get_item(TableName=keys.table("codes"), Key=keys.code_key(shop, code))
    item = dynamo.from_item(response.get("Item"))
    if item is None:
        return None
    owner = owner_of(shop, item)
    with _cache_lock:
        if len(_code_cache) >= _CACHE_LIMIT:
            _code_cache.clear()
        _code_cache[cache_key] = owner
    return owner


def put_code(owner: CodeOwner, created_at: str) -> bool:
    """Create a code; False when the code is taken. (Items carry no more than the report
    needs: every attribute returned costs, in DynamoDB read units and in moto's serializer.)"""
    item = {
        "kind": owner.kind,
        "owner_id": owner.owner_id,
        "name": owner.name,
        "created_at": created_at,
    }
    return dynamo.put_new(
        keys.table("codes"), {**keys.code_key(owner.shop, owner.code), **dynamo.to_item(item)}
    )


def delete_code(shop: str, code: str) -> None:
    aws.dynamodb().delete_item(TableName=keys.table("codes"), Key=keys.code_key(shop, code))
    with _cache_lock:
        _code_cache.pop((keys.table("codes"), shop, code), None)


def list_codes(
    shop: str, page: dynamo.PageParams, prefix: str | None = None
) -> tuple[list[CodeOwner], list[str], str | None]:
    """A page of the shop's codes in code order (channel codes sort first): their owners, their
    creation times and the next cursor. ``prefix`` narrows the page to one kind of code."""
    condition = "pk = :pk"
    values = dynamo.values(pk=keys.codes_pk(shop))
    if prefix is not None:
        condition += " AND begins_with(sk, :prefix)"
        values.update(dynamo.values(prefix=prefix))
    items, cursor = dynamo.query_page(
        table=keys.table("codes"), key_condition=condition, expression_values=values, page=page
    )
    return [owner_of(shop, item) for item in items], [item["created_at"] for item in items], cursor


def put_channel(shop: str, channel_id: str, name: str, code: str, created_at: str) -> None:
    item = {"channel_id": channel_id, "name": name, "code": code, "created_at": created_at}
    # The channel id is new for this request: "exists" means an earlier attempt of this same
    # write committed and its answer was lost (a retry after a dropped connection): done.
    dynamo.put_new(keys.table("main"), {**keys.channel_key(shop, channel_id), **dynamo.to_item(item)})


def get_channel(shop: str, channel_id: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(TableName=keys.table("main"), Key=keys.channel_key(shop, channel_id))
    return dynamo.from_item(response.get("Item"))


def put_program(shop: str, program: Program, updated_at: str) -> None:
    item = {
        "referrer_template_id": program.referrer_template_id,
        "referee_template_id": program.referee_template_id,
        "min_order_amount": program.min_order_amount,
        "max_rewards_per_referrer": program.max_rewards_per_referrer,
        "reward_hold_days": program.reward_hold_days,
        "updated_at": updated_at,
    }
    aws.dynamodb().put_item(
        TableName=keys.table("main"), Item={**keys.program_key(shop), **dynamo.to_item(item)}
    )


def get_program(shop: str) -> tuple[Program, str] | None:
    response = aws.dynamodb().get_item(
        TableName=keys.table("main"), Key=keys.program_key(shop), ConsistentRead=True
    )
    item = dynamo.from_item(response.get("Item"))
    if item is None:
        return None
    program = Program(
        referrer_template_id=item["referrer_template_id"],
        referee_template_id=item["referee_template_id"],
        min_order_amount=int(item.get("min_order_amount", 0)),
        max_rewards_per_referrer=item.get("max_rewards_per_referrer"),
        reward_hold_days=int(item.get("reward_hold_days", 0)),
    )
    return program, item["updated_at"]


def coupon_template(shop: str, template_id: str) -> dict[str, Any] | None:
    """The coupons service's template of this shop, or None: a GetItem on the coupons table
    by the key that table publishes (``resources.coupons.template_key``), projected to what a
    program checks (``per_customer_limit``, default 1 as in the coupons API)."""
    from campaign_shared.resources.coupons import template_key

    response = aws.dynamodb().get_item(
        TableName=table_name(get_settings().stage, "coupons", "main"),
        Key=dynamo.to_item(template_key(shop, template_id)),
        ProjectionExpression="pk, per_customer_limit",
    )
    item = dynamo.from_item(response.get("Item"))
    if item is None:
        return None
    return {"per_customer_limit": int(item.get("per_customer_limit") or 1)}
