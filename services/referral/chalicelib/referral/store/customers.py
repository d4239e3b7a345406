"""Per-customer items: the own code, the buyer record, referrer counters; committing outcomes.

The buyer record is written whole under an optimistic ``version``. An outcome that also moves
funnel counters, credits a referrer or creates rewards is one TransactWriteItems over ``main``
and the small ``stats`` table, so a counter moves exactly when the customer's state does.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from campaign_shared import aws, dynamo
from chalicelib.referral.domain import Buyer, Counters, OrderTally, Outcome, RewardPlan, VoidedBinding
from chalicelib.referral.store import keys


def get_own_code(shop: str, customer_id: str) -> str | None:
    response = aws.dynamodb().get_item(
        TableName=keys.table("main"), Key=keys.customer_key(shop, customer_id, "code"), ConsistentRead=True
    )
    item = dynamo.from_item(response.get("Item"))
    return item["code"] if item else None


def put_own_code(shop: str, customer_id: str, code: str, created_at: str) -> bool:
    """Record the customer's code; False when they already have one."""
    item = {
        **keys.customer_key(shop, customer_id, "code"),
        **dynamo.to_item({"code": code, "created_at": created_at}),
    }
    return dynamo.put_new(keys.table("main"), item)


def customer_items(shop: str, customer_id: str) -> dict[str, dict[str, Any]]:
    """Every item of a customer by sort key (code, buyer, referrer, rewards)."""
    params: dict[str, Any] = {
        "TableName": keys.table("main"),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": dynamo.values(pk=keys.customer_pk(shop, customer_id)),
    }
    found: dict[str, dict[str, Any]] = {}
    while True:
        response = aws.dynamodb().query(**params)
        for raw in response.get("Items", []):
            item = dynamo.from_item(raw) or {}
            found[item["sk"]] = item
        last = response.get("LastEvaluatedKey")
        if not last:
            return found
        params["ExclusiveStartKey"] = last


def buyer_from_item(customer_id: str, item: dict[str, Any] | None) -> Buyer:
    if item is None:
        return Buyer(customer_id=customer_id)
    orders = {
        order_id: OrderTally(
            paid_amount=tally.get("paid_amount"),
            occurred_at=tally.get("occurred_at"),
            refunds={rid: int(amount) for rid, amount in (tally.get("refunds") or {}).items()},
        )
        for order_id, tally in (item.get("orders") or {}).items()
    }
    return Buyer(
        customer_id=customer_id,
        version=int(item["version"]),
        bound_code=item.get("bound_code"),
        bound_at=item.get("bound_at"),
        referrer_kind=item.get("referrer_kind"),
        referrer_id=item.get("referrer_id"),
        attributed_code=item.get("attributed_code"),
        orders=orders,
        converted_at=item.get("converted_at"),
        conversion_order_id=item.get("conversion_order_id"),
        voided=VoidedBinding(**item["voided"]) if item.get("voided") else None,
    )


def _buyer_item(shop: str, buyer: Buyer, version: int) -> dict[str, Any]:
    orders = {}
    for order_id, tally in buyer.orders.items():
        entry: dict[str, Any] = {"refunds": dict(tally.refunds)}
        if tally.paid_amount is not None:
            entry["paid_amount"] = tally.paid_amount
        if tally.occurred_at is not None:
            entry["occurred_at"] = tally.occurred_at
        orders[order_id] = entry
    data = {
        "version": version,
        "bound_code": buyer.bound_code,
        "bound_at": buyer.bound_at,
        "referrer_kind": buyer.referrer_kind,
        "referrer_id": buyer.referrer_id,
        "attributed_code": buyer.attributed_code,
        "converted_at": buyer.converted_at,
        "conversion_order_id": buyer.conversion_order_id,
        "orders": orders,
        "voided": dataclasses.asdict(buyer.voided) if buyer.voided else None,
    }
    return {**keys.customer_key(shop, buyer.customer_id, "buyer"), **dynamo.to_item(data)}


def get_buyer(shop: str, customer_id: str) -> Buyer:
    response = aws.dynamodb().get_item(
        TableName=keys.table("main"), Key=keys.customer_key(shop, customer_id, "buyer"), ConsistentRead=True
    )
    return buyer_from_item(customer_id, dynamo.from_item(response.get("Item")))


def rewards_granted(shop: str, customer_id: str) -> int:
    response = aws.dynamodb().get_item(
        TableName=keys.table("main"),
        Key=keys.customer_key(shop, customer_id, "referrer"),
        ConsistentRead=True,
        ProjectionExpression="rewards_granted",
    )
    item = dynamo.from_item(response.get("Item")) or {}
    return int(item.get("rewards_granted", 0))


def reward_item(shop: str, plan: RewardPlan, referee_id: str, order_id: str, now: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "shop": shop,
        "customer_id": plan.customer_id,
        "grant_id": plan.grant_id,
        "side": plan.side,
        "template_id": plan.template_id,
        "status": plan.status,
        "reason": plan.reason,
        "referee_id": referee_id,
        "order_id": order_id,
        "created_at": now,
        "updated_at": now,
        "sends": 1 if plan.status == "pending" else 0,
        "release_at": plan.release_at,
    }
    if plan.status == "pending":  # the sparse index of grants waiting for an answer
        data["gsi1pk"] = keys.PENDING_INDEX_KEY
        data["gsi1sk"] = f"{now}#{plan.grant_id}"
    elif plan.status == "held":  # the sparse index of rewards waiting out the refund window
        data["gsi1pk"] = keys.HELD_INDEX_KEY
        data["gsi1sk"] = f"{plan.release_at}#{plan.grant_id}"
    return {
        **keys.customer_key(shop, plan.customer_id, keys.reward_sk(plan.grant_id)),
        **dynamo.to_item(data),
    }


def commit(shop: str, outcome: Outcome, now: str) -> bool:
    """Write an outcome atomically; False when the customer changed since it was read (or a
    referrer reached the reward cap meanwhile, or the code's owner was meanwhile referred by
    this customer): read again and decide again."""
    before, after = outcome.before, outcome.after
    put: dict[str, Any] = {
        "TableName": keys.table("main"),
        "Item": _buyer_item(shop, after, before.version + 1),
    }
    if before.version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = dynamo.values(v=before.version)
    ops: list[dict[str, Any]] = [{"Put": put}]
    for code, delta in outcome.deltas.items():
        ops.append(
            {"Update": keys.add_update(keys.table("stats"), keys.stats_key(shop, code), delta.nonzero())}
        )
    if outcome.credit_referrer is not None and outcome.referrer_increments:
        update = keys.add_update(
            keys.table("main"),
            keys.customer_key(shop, outcome.credit_referrer, "referrer"),
            dict(outcome.referrer_increments),
        )
        if outcome.referrer_reward_cap is not None and "rewards_granted" in outcome.referrer_increments:
            update["ConditionExpression"] = "attribute_not_exists(rewards_granted) OR rewards_granted < :cap"
            update["ExpressionAttributeValues"].update(dynamo.values(cap=outcome.referrer_reward_cap))
        ops.append({"Update": update})
    if outcome.not_referred_by is not None:
        owner, customer = outcome.not_referred_by
        ops.append(
            {
                "ConditionCheck": {
                    "TableName": keys.table("main"),
                    "Key": keys.customer_key(shop, owner, "buyer"),
                    # (a missing item or attribute compares false: the check passes)
                    "ConditionExpression": "NOT (referrer_kind = :customer AND referrer_id = :me)",
                    "ExpressionAttributeValues": dynamo.values(customer="customer", me=customer),
                }
            }
        )
    for plan in outcome.rewards:
        item = reward_item(shop, plan, after.customer_id, after.conversion_order_id or "", now)
        ops.append(
            {
                "Put": {
                    "TableName": keys.table("main"),
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    try:
        if len(ops) == 1:
            aws.dynamodb().put_item(**put)
        else:
            # The token makes a botocore retry of this same call a no-op on DynamoDB.
            aws.dynamodb().transact_write_items(TransactItems=ops, ClientRequestToken=str(uuid.uuid4()))
    except keys.client_error() as exc:
        if keys.lost_race(exc):
            return False
        raise
    return True


def add_refusal(shop: str, code: str, reason: str) -> None:
    """Count a refused signup on the code (a count of attempts, not idempotent by design)."""
    increments = Counters(**{f"refused_{reason}": 1}).nonzero()
    aws.dynamodb().update_item(**keys.add_update(keys.table("stats"), keys.stats_key(shop, code), increments))
