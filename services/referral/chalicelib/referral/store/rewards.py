"""Rewards (``main`` table, ``customer#{shop}#{id}`` / ``reward#{grant_id}``): the coupons
service's answers, grants and revokes left unanswered, held rewards.

Every change of a reward's status is one conditional UpdateItem on the status it had
(``_transition``), so concurrent deliveries, the sweeps and the answers never undo each
other: whoever finds the status changed reads again and decides again (or leaves it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, paging, writes
from chalicelib.referral.store import keys
from chalicelib.referral.store.ports import Answer
from chalicelib.referral.store.records import RewardRecord

# An answer from the coupons service may turn a reward from one of these into ``issued``: a
# late success replaces a failure (a give-up after no answer), never anything later.
ISSUABLE = ("pending", "failed")
_OUT_OF_INDEX = "REMOVE gsi1pk, gsi1sk"


def _transition(
    shop: str, customer_id: str, grant_id: str, expected: Iterable[str], expression: str, **values: Any
) -> tuple[Answer, RewardRecord | None]:
    """Update a reward whose status is one of ``expected``: (``recorded``, the reward as now
    stored), or (``unchanged``, None) when its status was another one, or (``unknown``, None)
    when there is no such reward. ``#s`` names ``status`` in ``expression``."""
    states = {f"was{i}": status for i, status in enumerate(expected)}
    written = writes.update(
        keys.table("main"),
        keys.reward_key(shop, customer_id, grant_id),
        update=expression,
        condition="attribute_exists(pk) AND (" + " OR ".join(f"#s = :{name}" for name in states) + ")",
        names={"#s": "status"},
        values=codec.values(**states, **values),
    )
    if written.applied:
        return "recorded", RewardRecord.from_item(written.item) if written.item else None
    return ("unchanged" if written.item is not None else "unknown"), None


def _moved(reward: RewardRecord, expected: Iterable[str], expression: str, **values: Any) -> bool:
    answer, _ = _transition(reward.shop, reward.customer_id, reward.grant_id, expected, expression, **values)
    return answer == "recorded"


def _index(partition: str, below: str, limit: int) -> list[RewardRecord]:
    """Up to ``limit`` rewards of a gsi1 partition whose sort key is below ``below``, oldest first."""
    items = paging.query_all(
        table=keys.table("main"),
        index=keys.INDEX,
        key_condition="gsi1pk = :pk AND gsi1sk < :below",
        expression_values=codec.values(pk=partition, below=below),
        page_size=limit,
    )
    return [RewardRecord.from_item(item) for item in itertools.islice(items, limit)]


class RewardsRepository:
    def get(self, shop: str, customer_id: str, grant_id: str) -> RewardRecord | None:
        response = aws.dynamodb().get_item(
            TableName=keys.table("main"),
            Key=keys.reward_key(shop, customer_id, grant_id),
            ConsistentRead=True,
        )
        item = codec.from_item(response.get("Item"))
        return RewardRecord.from_item(item) if item is not None else None

    # ---- answers of the coupons service ------------------------------------------------------

    def record_grant_result(
        self,
        shop: str,
        customer_id: str,
        grant_id: str,
        status: str,
        coupon_id: str | None,
        reason: str | None,
        now: str,
    ) -> tuple[Answer, RewardRecord | None]:
        """An issued coupon wins over an earlier failure; a failure never replaces an issued coupon."""
        if status == "issued":
            sets = "SET #s = :s, updated_at = :now" + (", coupon_id = :c" if coupon_id is not None else "")
            extra = {"c": coupon_id} if coupon_id is not None else {}
            return _transition(
                shop,
                customer_id,
                grant_id,
                ISSUABLE,
                f"{sets} REMOVE reason, gsi1pk, gsi1sk",
                s="issued",
                now=now,
                **extra,
            )
        expression = f"SET #s = :s, reason = :r, updated_at = :now {_OUT_OF_INDEX}"
        return _transition(
            shop, customer_id, grant_id, ("pending",), expression, s="failed", r=reason or "failed", now=now
        )

    def record_revoke_result(
        self, shop: str, customer_id: str, grant_id: str, status: str, reason: str | None, now: str
    ) -> Answer:
        """A revoke's answer: ``revoking`` -> ``revoked`` or ``revoke_failed`` (with the reason)."""
        if status == "revoked":
            expression = f"SET #s = :s, updated_at = :now {_OUT_OF_INDEX}"
            answer, _ = _transition(shop, customer_id, grant_id, ("revoking",), expression, s=status, now=now)
        else:
            expression = f"SET #s = :s, reason = :r, updated_at = :now {_OUT_OF_INDEX}"
            answer, _ = _transition(
                shop,
                customer_id,
                grant_id,
                ("revoking",),
                expression,
                s=status,
                r=reason or "failed",
                now=now,
            )
        return answer

    # ---- taking rewards back -------------------------------------------------------------------

    def cancel_held(self, reward: RewardRecord, reason: str, now: str) -> bool:
        """A held reward that will never be granted: ``held`` -> ``cancelled``."""
        expression = f"SET #s = :s, reason = :r, updated_at = :now {_OUT_OF_INDEX}"
        return _moved(reward, ("held",), expression, s="cancelled", r=reason, now=now)

    def want_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool:
        """A reward whose grant is unanswered: remember to revoke its coupon once issued."""
        return _moved(reward, ("pending",), "SET revoke_reason = :r, updated_at = :now", r=reason, now=now)

    def start_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool:
        """``issued`` -> ``revoking``, in the index of rewards waiting for an answer (its
        ``coupon.revoke`` is sent after this write, and again by the sweep if unanswered)."""
        expression = (
            "SET #s = :s, reason = :r, revoke_reason = :r, updated_at = :now, sends = :one,"
            " gsi1pk = :pk, gsi1sk = :sk"
        )
        sort = keys.pending_sort(now, reward.grant_id)
        return _moved(
            reward,
            ("issued",),
            expression,
            s="revoking",
            r=reason,
            now=now,
            one=1,
            pk=keys.PENDING_INDEX_KEY,
            sk=sort,
        )

    # ---- the sweeps ------------------------------------------------------------------------------

    def release_held(self, reward: RewardRecord, now: str) -> bool:
        """``held`` -> ``pending``, in the index of grants waiting for an answer (the grant is
        sent after this write, and again by the sweep if unanswered: a release is never lost)."""
        expression = "SET #s = :s, updated_at = :now, sends = :one, gsi1pk = :pk, gsi1sk = :sk"
        sort = keys.pending_sort(now, reward.grant_id)
        return _moved(
            reward, ("held",), expression, s="pending", now=now, one=1, pk=keys.PENDING_INDEX_KEY, sk=sort
        )

    def mark_resent(self, reward: RewardRecord, now: str) -> None:
        """One more send of a reward's grant or revoke (left alone once answered)."""
        expression = "SET gsi1sk = :sk, updated_at = :now ADD sends :one"
        sort = keys.pending_sort(now, reward.grant_id)
        _moved(reward, (reward.status,), expression, sk=sort, now=now, one=1)

    def mark_unanswered(self, reward: RewardRecord, reason: str, now: str) -> None:
        """Give up on an unanswered grant (``failed``) or revoke (``revoke_failed``)."""
        final = "revoke_failed" if reward.status == "revoking" else "failed"
        expression = f"SET #s = :s, reason = :r, updated_at = :now {_OUT_OF_INDEX}"
        _moved(reward, (reward.status,), expression, s=final, r=reason, now=now)

    def stale(self, sent_before: str, limit: int) -> list[RewardRecord]:
        return _index(keys.PENDING_INDEX_KEY, sent_before, limit)

    def held_due(self, now: str, limit: int) -> list[RewardRecord]:
        return _index(keys.HELD_INDEX_KEY, keys.due_before(now), limit)
