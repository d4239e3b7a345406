"""Per-customer items (``main`` table, ``customer#{shop}#{id}``): the own code, the buyer
record, the referrer counters, and committing an outcome.

The buyer record is written whole under an optimistic ``version``. An outcome that also moves
funnel counters, credits a referrer or creates rewards is one TransactWriteItems over ``main``
and the small ``stats`` table, so a counter moves exactly when the customer's state does.
"""

from __future__ import annotations

import uuid
from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, paging, writes
from chalicelib.referral.domain import Buyer, Outcome
from chalicelib.referral.store import keys
from chalicelib.referral.store.records import (
    CustomerView,
    ReferrerCounts,
    RewardRecord,
    buyer_from_item,
    buyer_to_item,
)
from chalicelib.referral.store.updates import add_update, lost_race


def _get(shop: str, customer_id: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
    params: dict[str, Any] = {
        "TableName": keys.table("main"),
        "Key": keys.customer_key(shop, customer_id, sk),
        "ConsistentRead": True,
    }
    if projection:
        params["ProjectionExpression"] = projection
    return codec.from_item(aws.dynamodb().get_item(**params).get("Item"))


class CustomersRepository:
    def get_own_code(self, shop: str, customer_id: str) -> str | None:
        item = _get(shop, customer_id, "code")
        return item["code"] if item else None

    def put_own_code(self, shop: str, customer_id: str, code: str, created_at: str) -> bool:
        k = keys.customer_key(shop, customer_id, "code")
        item = {"pk": k["pk"]["S"], "sk": k["sk"]["S"], "code": code, "created_at": created_at}
        # A retried write meets its own code: recorded.
        return writes.create(keys.table("main"), item, mine=lambda old: old.get("code") == code).applied

    def get_buyer(self, shop: str, customer_id: str) -> Buyer:
        return buyer_from_item(customer_id, _get(shop, customer_id, "buyer"))

    def rewards_granted(self, shop: str, customer_id: str) -> int:
        item = _get(shop, customer_id, "referrer", projection="rewards_granted")
        return ReferrerCounts.from_item(item).rewards_granted

    def view(self, shop: str, customer_id: str) -> CustomerView:
        found = {
            item["sk"]: item
            for item in paging.query_all(
                table=keys.table("main"),
                key_condition="pk = :pk",
                expression_values=codec.values(pk=keys.customer_pk(shop, customer_id)),
            )
        }
        code_item = found.get("code")
        buyer_item = found.get("buyer")
        return CustomerView(
            own_code=code_item["code"] if code_item else None,
            buyer=buyer_from_item(customer_id, buyer_item) if buyer_item else None,
            counts=ReferrerCounts.from_item(found.get("referrer")),
            rewards=tuple(RewardRecord.from_item(i) for sk, i in found.items() if sk.startswith("reward#")),
        )

    def commit(self, shop: str, outcome: Outcome, now: str) -> bool:
        """Write an outcome atomically; False when the customer changed since it was read (or a
        referrer reached the reward cap meanwhile, or the code's owner was meanwhile referred by
        this customer): read again and decide again."""
        main = keys.table("main")
        before, after = outcome.before, outcome.after
        put: dict[str, Any] = {
            "TableName": main,
            "Item": codec.to_item(buyer_to_item(shop, after, before.version + 1)),
        }
        if before.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = codec.values(v=before.version)
        ops: list[dict[str, Any]] = [{"Put": put}]
        for code, delta in outcome.deltas.items():
            ops.append(
                {"Update": add_update(keys.table("stats"), keys.stats_key(shop, code), delta.nonzero())}
            )
        if outcome.credit_referrer is not None and outcome.referrer_increments:
            update = add_update(
                main,
                keys.customer_key(shop, outcome.credit_referrer, "referrer"),
                dict(outcome.referrer_increments),
            )
            if outcome.referrer_reward_cap is not None and "rewards_granted" in outcome.referrer_increments:
                update["ConditionExpression"] = (
                    "attribute_not_exists(rewards_granted) OR rewards_granted < :cap"
                )
                update["ExpressionAttributeValues"].update(codec.values(cap=outcome.referrer_reward_cap))
            ops.append({"Update": update})
        if outcome.not_referred_by is not None:
            owner, customer = outcome.not_referred_by
            check = {
                "TableName": main,
                "Key": keys.customer_key(shop, owner, "buyer"),
                # (a missing item or attribute compares false: the check passes)
                "ConditionExpression": "NOT (referrer_kind = :customer AND referrer_id = :me)",
                "ExpressionAttributeValues": codec.values(customer="customer", me=customer),
            }
            ops.append({"ConditionCheck": check})
        for plan in outcome.rewards:
            reward = RewardRecord.new(shop, plan, after.customer_id, after.conversion_order_id or "", now)
            item = codec.to_item(reward.to_item())
            ops.append(
                {"Put": {"TableName": main, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
            )
        try:
            if len(ops) == 1:
                aws.dynamodb().put_item(**put)
            else:
                # The token makes a botocore retry of this same call a no-op on DynamoDB.
                writes.transact(ops, token=str(uuid.uuid4()))
        except Exception as exc:
            if lost_race(exc):
                return False
            raise
        return True
