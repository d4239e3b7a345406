"""Rewards: the coupons service's answers, grants and revokes left unanswered, held rewards.

Every change of a reward's status is one conditional UpdateItem on the status it had
(``_transition``), so concurrent deliveries, the sweeps and the answers never undo each
other: whoever finds the status changed reads again and decides again (or leaves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign_shared import aws, dynamo
from chalicelib.referral.store import keys

# An answer from the coupons service may turn a reward from one of these into ``issued``: a
# late success replaces a failure (a give-up after no answer), never anything later.
ISSUABLE = ("pending", "failed")


def reward_items(shop: str, customer_id: str, grant_ids: Iterable[str]) -> list[dict[str, Any]]:
    found = []
    for gid in grant_ids:
        response = aws.dynamodb().get_item(
            TableName=keys.table("main"),
            Key=keys.customer_key(shop, customer_id, keys.reward_sk(gid)),
            ConsistentRead=True,
        )
        item = dynamo.from_item(response.get("Item"))
        if item is not None:
            found.append(item)
    return found


def _transition(
    item_key: dict[str, Any],
    expected: Iterable[str],
    expression: str,
    returns: str = "NONE",
    **values: Any,
) -> dict[str, Any] | None:
    """Update a reward whose status is one of ``expected``; the new item (``returns``
    ``ALL_NEW``) or ``{}``, or None when the status was another one (or there is no such
    reward). ``#s`` names ``status`` in ``expression``."""
    states = {f"was{i}": status for i, status in enumerate(expected)}
    condition = "attribute_exists(pk) AND (" + " OR ".join(f"#s = :{name}" for name in states) + ")"
    try:
        response = aws.dynamodb().update_item(
            TableName=keys.table("main"),
            Key=item_key,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=dynamo.values(**states, **values),
            ReturnValues=returns,
        )
    except keys.client_error() as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        return None
    return dynamo.from_item(response.get("Attributes")) or {}


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return keys.key(item["pk"], item["sk"])


def _exists(item_key: dict[str, Any]) -> bool:
    found = aws.dynamodb().get_item(TableName=keys.table("main"), Key=item_key, ConsistentRead=True)
    return "Item" in found


# ---- answers of the coupons service ----------------------------------------------------------


def record_grant_result(
    shop: str,
    customer_id: str,
    grant_id: str,
    status: str,
    coupon_id: str | None,
    reason: str | None,
    now: str,
) -> tuple[str, dict[str, Any] | None]:
    """Record the coupons service's answer: (``recorded`` with the reward as now stored,
    ``unchanged`` (already final) or ``unknown`` (no such reward), None). An issued coupon
    wins over an earlier failure; a failure never replaces an issued coupon."""
    item_key = keys.customer_key(shop, customer_id, keys.reward_sk(grant_id))
    if status == "issued":
        sets = "SET #s = :s, updated_at = :now" + (", coupon_id = :c" if coupon_id is not None else "")
        extra = {"c": coupon_id} if coupon_id is not None else {}
        sets += " REMOVE reason, gsi1pk, gsi1sk"
        updated = _transition(item_key, ISSUABLE, sets, "ALL_NEW", s="issued", now=now, **extra)
    else:
        updated = _transition(
            item_key,
            ("pending",),
            "SET #s = :s, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk",
            "ALL_NEW",
            s="failed",
            r=reason or "failed",
            now=now,
        )
    if updated is not None:
        return "recorded", updated
    return ("unchanged" if _exists(item_key) else "unknown"), None


def record_revoke_result(
    shop: str, customer_id: str, grant_id: str, status: str, reason: str | None, now: str
) -> str:
    """A revoke's answer: ``revoking`` -> ``revoked`` or ``revoke_failed`` (with the reason).
    ``recorded``, ``unchanged`` or ``unknown``, as for grants."""
    item_key = keys.customer_key(shop, customer_id, keys.reward_sk(grant_id))
    if status == "revoked":
        updated = _transition(
            item_key, ("revoking",), "SET #s = :s, updated_at = :now REMOVE gsi1pk, gsi1sk", s=status, now=now
        )
    else:
        updated = _transition(
            item_key,
            ("revoking",),
            "SET #s = :s, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk",
            s=status,
            r=reason or "failed",
            now=now,
        )
    if updated is not None:
        return "recorded"
    return "unchanged" if _exists(item_key) else "unknown"


# ---- taking rewards back -----------------------------------------------------------------


def cancel_held(item: dict[str, Any], reason: str, now: str) -> bool:
    """A held reward that will never be granted: ``held`` -> ``cancelled``."""
    expression = "SET #s = :s, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk"
    return _transition(_key_of(item), ("held",), expression, s="cancelled", r=reason, now=now) is not None


def want_revoke(item: dict[str, Any], reason: str, now: str) -> bool:
    """A reward whose grant is unanswered: remember to revoke its coupon once issued."""
    expression = "SET revoke_reason = :r, updated_at = :now"
    return _transition(_key_of(item), ("pending",), expression, r=reason, now=now) is not None


def start_revoke(item: dict[str, Any], reason: str, now: str) -> bool:
    """``issued`` -> ``revoking``, in the index of rewards waiting for an answer (its
    ``coupon.revoke`` is sent after this write, and again by the sweep if unanswered)."""
    expression = (
        "SET #s = :s, reason = :r, revoke_reason = :r, updated_at = :now, sends = :one,"
        " gsi1pk = :pk, gsi1sk = :sk"
    )
    return (
        _transition(
            _key_of(item),
            ("issued",),
            expression,
            s="revoking",
            r=reason,
            now=now,
            one=1,
            pk=keys.PENDING_INDEX_KEY,
            sk=f"{now}#{item['grant_id']}",
        )
        is not None
    )


# ---- the sweeps ------------------------------------------------------------------------


def _index_page(pk: str, below: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` items of a gsi1 partition whose sort key is below ``below``, oldest first."""
    params: dict[str, Any] = {
        "TableName": keys.table("main"),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk < :below",
        "ExpressionAttributeValues": dynamo.values(pk=pk, below=below),
        "Limit": limit,
    }
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        response = aws.dynamodb().query(**params)
        found.extend(dynamo.from_item(i) or {} for i in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        params["ExclusiveStartKey"] = last
        params["Limit"] = limit - len(found)
    return found[:limit]


def stale_pending_rewards(sent_before: str, limit: int = 100) -> list[dict[str, Any]]:
    """Rewards whose grant (``pending``) or revoke (``revoking``) was last sent before
    ``sent_before`` and is unanswered (oldest first)."""
    return _index_page(keys.PENDING_INDEX_KEY, sent_before, limit)


def held_due(now: str, limit: int = 500) -> list[dict[str, Any]]:
    """Held rewards whose refund window is over at ``now`` (release time <= now)."""
    return _index_page(keys.HELD_INDEX_KEY, f"{now}$", limit)  # "$" sorts right after "#"


def release_held(item: dict[str, Any], now: str) -> bool:
    """``held`` -> ``pending``, in the index of grants waiting for an answer (the grant is
    sent after this write, and again by the sweep if unanswered: a release is never lost)."""
    expression = "SET #s = :s, updated_at = :now, sends = :one, gsi1pk = :pk, gsi1sk = :sk"
    return (
        _transition(
            _key_of(item),
            ("held",),
            expression,
            s="pending",
            now=now,
            one=1,
            pk=keys.PENDING_INDEX_KEY,
            sk=f"{now}#{item['grant_id']}",
        )
        is not None
    )


def mark_resent(item: dict[str, Any], now: str) -> None:
    """One more send of a reward's grant or revoke (left alone once answered)."""
    _transition(
        _key_of(item),
        (item["status"],),
        "SET gsi1sk = :sk, updated_at = :now ADD sends :one",
        sk=f"{now}#{item['grant_id']}",
        now=now,
        one=1,
    )


def mark_unanswered(item: dict[str, Any], reason: str, now: str) -> None:
    """Give up on an unanswered grant (``failed``) or revoke (``revoke_failed``)."""
    final = "revoke_failed" if item["status"] == "revoking" else "failed"
    _transition(
        _key_of(item),
        (item["status"],),
        "SET #s = :s, reason = :r, updated_at = :now REMOVE gsi1pk, gsi1sk",
        s=final,
        r=reason,
        now=now,
    )
