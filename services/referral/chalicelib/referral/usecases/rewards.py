"""Rewards after a conversion: sending grants, taking rewards back, the coupons service's
answers and the two sweeps (``domain.rewards`` says what each status means).

Every write is committed before its message is sent, and every message is idempotent on the
``grant_id`` at the coupons service, so a crash between the two is repaired by sending again:
the redelivered order event sends again what is still pending, and ``resend_stale_grants``
sends again any grant or revoke left unanswered (then gives up, visibly, after ``MAX_SENDS``).
``release_held_rewards`` grants the held rewards whose refund window is over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from campaign_shared import clock
from campaign_shared.grants import CouponGrant, CouponGrantResult, CouponRevoke, CouponRevokeResult
from campaign_shared.storage import retry
from chalicelib.referral.domain import Buyer, RewardPlan
from chalicelib.referral.domain import rewards as rules
from chalicelib.referral.store import Stores
from chalicelib.referral.store.records import RewardRecord
from chalicelib.referral.usecases.common import log, now, real

MAX_ATTEMPTS = 5
# A grant or revoke is sent again after this long without an answer, at most MAX_SENDS times.
RESEND_AFTER = timedelta(minutes=2)
MAX_SENDS = 5
NO_ANSWER = "no answer from the coupons service"


def grant_message(shop: str, customer_id: str, template_id: str, grant_id: str) -> dict[str, Any]:
    grant = CouponGrant(
        grant_id=grant_id, shop=shop, template_id=template_id, customer_id=customer_id, reply_to="referral"
    )
    return grant.model_dump(mode="json")


def revoke_message(shop: str, customer_id: str, grant_id: str, reason: str) -> dict[str, Any]:
    revoke = CouponRevoke(
        grant_id=grant_id, shop=shop, customer_id=customer_id, reason=reason, reply_to="referral"
    )
    return revoke.model_dump(mode="json")


def _grant(reward: RewardRecord) -> dict[str, Any]:
    return grant_message(reward.shop, reward.customer_id, reward.template_id, reward.grant_id)


def _revoke(reward: RewardRecord, reason: str | None = None) -> dict[str, Any]:
    why = reason or reward.revoke_reason or reward.reason or "revoked"
    return revoke_message(reward.shop, reward.customer_id, reward.grant_id, why)


# ---- grants ------------------------------------------------------------------------------


def send_grants(s: Stores, shop: str, plans: tuple[RewardPlan, ...]) -> None:
    """The grants of a conversion just committed (held, capped, cancelled ones are not sent)."""
    messages = [
        grant_message(shop, plan.customer_id, plan.template_id, plan.grant_id)
        for plan in plans
        if plan.status == "pending"
    ]
    if messages:
        s.outbox.send_batch("coupons", messages)


def resend_pending(s: Stores, shop: str, buyer: Buyer) -> None:
    """A redelivered converting order: send again what may not have been sent."""
    found = [s.rewards.get(shop, customer_id, gid) for customer_id, gid in rules.reward_holders(shop, buyer)]
    messages = [_grant(r) for r in found if r is not None and r.status == "pending"]
    if messages:
        s.outbox.send_batch("coupons", messages)


# ---- taking rewards back -------------------------------------------------------------------


def withdraw(s: Stores, shop: str, buyer: Buyer, reason: str) -> None:
    """Take back every reward of the buyer's conversion: a held one is cancelled, an issued one
    revoked (``coupon.revoke``), a pending one is revoked as soon as its grant is answered
    ``issued``. Idempotent: run again by every redelivery of the event that caused it."""
    for customer_id, gid in rules.reward_holders(shop, buyer):
        _withdraw_one(s, shop, customer_id, gid, reason)


def _withdraw_one(s: Stores, shop: str, customer_id: str, gid: str, reason: str) -> None:
    for _ in retry.attempts(MAX_ATTEMPTS, busy="reward kept changing; retry"):
        reward = s.rewards.get(shop, customer_id, gid)
        if reward is None:
            return
        at = now()
        if reward.status == "held":
            if s.rewards.cancel_held(reward, reason, at):
                return
        elif reward.status == "pending":
            if reward.revoke_reason or s.rewards.want_revoke(reward, reason, at):
                return
        elif reward.status == "issued":
            if s.rewards.start_revoke(reward, reason, at):
                s.outbox.send("coupons", _revoke(reward, reason))
                return
        elif reward.status == "revoking":
            s.outbox.send("coupons", _revoke(reward))  # a crash may have lost the first send
            return
        else:  # failed, capped, cancelled, revoked, revoke_failed: nothing to take back
            return


# ---- answers of the coupons service ----------------------------------------------------------


def grant_result(result: CouponGrantResult, stores: Stores | None = None) -> None:
    """Record the coupons service's answer to a grant; a coupon issued for a reward taken back
    while its grant was in flight is revoked at once."""
    s = real(stores)
    shop, customer_id, grant_id = result.shop, result.customer_id, result.grant_id
    answer, reward = s.rewards.record_grant_result(
        shop, customer_id, grant_id, result.status, result.coupon_id, result.reason, now()
    )
    if answer == "unknown":
        log().warning("grant result for an unknown reward; dropped", extra={"grant_id": grant_id})
    elif reward is not None and reward.status == "issued" and reward.revoke_reason:
        _withdraw_one(s, shop, customer_id, grant_id, reward.revoke_reason)


def revoke_result(result: CouponRevokeResult, stores: Stores | None = None) -> None:
    """Record the coupons service's answer to a revoke (``revoked`` or ``revoke_failed``)."""
    status = "revoked" if result.status == "revoked" else "revoke_failed"
    answer = real(stores).rewards.record_revoke_result(
        result.shop, result.customer_id, result.grant_id, status, result.reason, now()
    )
    if answer == "unknown":
        log().warning("revoke result for an unknown reward; dropped", extra={"grant_id": result.grant_id})


# ---- sweeps ------------------------------------------------------------------------------


def resend_stale_grants(limit: int = 100, stores: Stores | None = None) -> dict[str, int]:
    """Send again the grants and revokes left unanswered; give up after MAX_SENDS (the reward
    is then ``failed``, or ``revoke_failed``, with the reason ``NO_ANSWER``)."""
    s = real(stores)
    moment = clock.now()
    at = clock.iso(moment)
    resent = gave_up = 0
    for reward in s.rewards.stale(clock.iso(moment - RESEND_AFTER), limit):
        if reward.sends >= MAX_SENDS:
            s.rewards.mark_unanswered(reward, NO_ANSWER, at)
            gave_up += 1
            continue
        s.outbox.send("coupons", _revoke(reward) if reward.status == "revoking" else _grant(reward))
        s.rewards.mark_resent(reward, at)
        resent += 1
    return {"resent": resent, "gave_up": gave_up}


def release_held_rewards(
    limit: int = 500, max_rounds: int = 20, stores: Stores | None = None
) -> dict[str, int]:
    """Grant the held rewards whose refund window is over: each is moved to ``pending`` (one
    conditional write: a reward cancelled meanwhile stays cancelled), then its grant is sent.
    A send lost after the write is sent again by ``resend_stale_grants``. Released rewards
    leave the held index, so each round reads the next ones; at most ``max_rounds`` rounds of
    ``limit`` per run (the rest waits for the next run), and a round that releases nothing
    (the index lagging behind its table) ends the run."""
    s = real(stores)
    at = now()
    released = 0
    for _ in range(max_rounds):
        due = s.rewards.held_due(at, limit)
        messages = [_grant(reward) for reward in due if s.rewards.release_held(reward, at)]
        if messages:
            s.outbox.send_batch("coupons", messages)
        released += len(messages)
        if len(due) < limit or not messages:
            break
    return {"released": released}
