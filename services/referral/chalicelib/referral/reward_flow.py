"""Rewards after a conversion: sending grants, taking rewards back, the coupons service's
answers and the two sweeps (``rewards`` says what each status means).

Every write is committed before its message is sent, and every message is idempotent on the
``grant_id`` at the coupons service, so a crash between the two is repaired by sending again:
the redelivered order event sends again what is still pending, and ``resend_stale_grants``
sends again any grant or revoke left unanswered (then gives up, visibly, after ``MAX_SENDS``).
``release_held_rewards`` grants the held rewards whose refund window is over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from campaign_shared import clock, messaging, observability
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.events import PoisonMessage
from campaign_shared.grants import CouponGrant, CouponGrantResult, CouponRevoke, CouponRevokeResult
from chalicelib.referral import store
from chalicelib.referral.domain import Buyer, RewardPlan, rewards

MAX_ATTEMPTS = 5
# A grant or revoke is sent again after this long without an answer, at most MAX_SENDS times.
RESEND_AFTER = timedelta(minutes=2)
MAX_SENDS = 5
NO_ANSWER = "no answer from the coupons service"


def _log() -> Any:
    return observability.logger("referral")


def _now() -> str:
    return clock.iso(clock.now())


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


def _item_grant(item: dict[str, Any]) -> dict[str, Any]:
    return grant_message(item["shop"], item["customer_id"], item["template_id"], item["grant_id"])


def _item_revoke(item: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    why = reason or item.get("revoke_reason") or item.get("reason") or "revoked"
    return revoke_message(item["shop"], item["customer_id"], item["grant_id"], why)


# ---- grants ----------------------------------------------------------------------------


def send_grants(shop: str, plans: tuple[RewardPlan, ...]) -> None:
    """The grants of a conversion just committed (held, capped, cancelled ones are not sent)."""
    messages = [
        grant_message(shop, plan.customer_id, plan.template_id, plan.grant_id)
        for plan in plans
        if plan.status == "pending"
    ]
    if messages:
        messaging.send_batch("coupons", messages)


def resend_pending(shop: str, buyer: Buyer) -> None:
    """A redelivered converting order: send again what may not have been sent."""
    items = []
    for customer_id, gid in rewards.reward_holders(shop, buyer):
        items += store.reward_items(shop, customer_id, [gid])
    messages = [_item_grant(item) for item in items if item.get("status") == "pending"]
    if messages:
        messaging.send_batch("coupons", messages)


# ---- taking rewards back -------------------------------------------------------------------


def withdraw(shop: str, buyer: Buyer, reason: str) -> None:
    """Take back every reward of the buyer's conversion: a held one is cancelled, an issued one
    revoked (``coupon.revoke``), a pending one is revoked as soon as its grant is answered
    ``issued``. Idempotent: run again by every redelivery of the event that caused it."""
    for customer_id, gid in rewards.reward_holders(shop, buyer):
        _withdraw_one(shop, customer_id, gid, reason)


def _withdraw_one(shop: str, customer_id: str, gid: str, reason: str) -> None:
    for _ in range(MAX_ATTEMPTS):
        found = store.reward_items(shop, customer_id, [gid])
        if not found:
            return
        item, now = found[0], _now()
        status = item.get("status")
        if status == "held":
            if store.cancel_held(item, reason, now):
                return
        elif status == "pending":
            if item.get("revoke_reason") or store.want_revoke(item, reason, now):
                return
        elif status == "issued":
            if store.start_revoke(item, reason, now):
                messaging.send("coupons", _item_revoke(item, reason))
                return
        elif status == "revoking":
            messaging.send("coupons", _item_revoke(item))  # a crash may have lost the first send
            return
        else:  # failed, capped, cancelled, revoked, revoke_failed: nothing to take back
            return
    raise ServiceUnavailable("reward kept changing; retry")


# ---- answers of the coupons service ----------------------------------------------------------


def _parse(model: Any, body: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise PoisonMessage(f"malformed {body.get('type')}: {exc.error_count()} errors") from None


def on_grant_result(body: dict[str, Any]) -> None:
    result: CouponGrantResult = _parse(CouponGrantResult, body)
    outcome, item = store.record_grant_result(
        result.shop,
        result.customer_id,
        result.grant_id,
        result.status,
        result.coupon_id,
        result.reason,
        _now(),
    )
    if outcome == "unknown":
        _log().warning("grant result for an unknown reward; dropped", extra={"grant_id": result.grant_id})
    elif item is not None and item.get("status") == "issued" and item.get("revoke_reason"):
        # taken back while the grant was in flight: revoke the coupon just issued
        _withdraw_one(result.shop, result.customer_id, result.grant_id, item["revoke_reason"])


def on_revoke_result(body: dict[str, Any]) -> None:
    result: CouponRevokeResult = _parse(CouponRevokeResult, body)
    status = "revoked" if result.status == "revoked" else "revoke_failed"
    outcome = store.record_revoke_result(
        result.shop, result.customer_id, result.grant_id, status, result.reason, _now()
    )
    if outcome == "unknown":
        _log().warning("revoke result for an unknown reward; dropped", extra={"grant_id": result.grant_id})


# ---- sweeps ------------------------------------------------------------------------------


def resend_stale_grants(limit: int = 100) -> dict[str, int]:
    """Send again the grants and revokes left unanswered; give up after MAX_SENDS (the reward
    is then ``failed``, or ``revoke_failed``, with the reason ``NO_ANSWER``)."""
    now = clock.now()
    stale = store.stale_pending_rewards(clock.iso(now - RESEND_AFTER), limit=limit)
    resent = gave_up = 0
    for item in stale:
        if int(item.get("sends", 0)) >= MAX_SENDS:
            store.mark_unanswered(item, NO_ANSWER, clock.iso(now))
            gave_up += 1
            continue
        message = _item_revoke(item) if item.get("status") == "revoking" else _item_grant(item)
        messaging.send("coupons", message)
        store.mark_resent(item, clock.iso(now))
        resent += 1
    return {"resent": resent, "gave_up": gave_up}


def release_held_rewards(limit: int = 500, max_rounds: int = 20) -> dict[str, int]:
    """Grant the held rewards whose refund window is over: each is moved to ``pending`` (one
    conditional write: a reward cancelled meanwhile stays cancelled), then its grant is sent.
    A send lost after the write is sent again by ``resend_stale_grants``. Released rewards
    leave the held index, so each round reads the next ones; at most ``max_rounds`` rounds of
    ``limit`` per run (the rest waits for the next run), and a round that releases nothing
    (the index lagging behind its table) ends the run."""
    now = _now()
    released = 0
    for _ in range(max_rounds):
        due = store.held_due(now, limit)
        messages = [_item_grant(item) for item in due if store.release_held(item, now)]
        if messages:
            messaging.send_batch("coupons", messages)
        released += len(messages)
        if len(due) < limit or not messages:
            break
    return {"released": released}
