"""Visits, signups, the customer's own view (``/me``) and the merchant's report."""

from __future__ import annotations

from campaign_shared.storage import retry
from chalicelib.referral import domain, models
from chalicelib.referral.domain import CodeOwner, SignupRefused
from chalicelib.referral.store import Stores
from chalicelib.referral.store.records import RewardRecord
from chalicelib.referral.usecases.codes import get_channel
from chalicelib.referral.usecases.common import now, owner_or_404, real, url

MAX_ATTEMPTS = 5
ME_REWARDS_LIMIT = 100


def record_visit(shop: str, body: models.VisitIn, stores: Stores | None = None) -> models.VisitOut:
    s = real(stores)
    owner = owner_or_404(s, shop, body.code)
    new = s.funnel.record_visit(shop, owner.code, body.visitor_id, now())
    return models.VisitOut(code=owner.code, new_visitor=new)


def signup(
    shop: str, customer_id: str, body: models.SignupIn, stores: Stores | None = None
) -> models.SignupOut:
    """Bind the caller to the code's owner, once; every refusal is counted on the code."""
    s = real(stores)
    owner = owner_or_404(s, shop, body.code)
    attempted: set[str] = set()
    for _ in retry.attempts(MAX_ATTEMPTS, busy="the customer is being updated; retry shortly"):
        at = now()
        buyer = s.customers.get_buyer(shop, customer_id)
        owner_referred_by = None
        if owner.customer_id is not None and owner.customer_id != customer_id:
            owner_state = s.customers.get_buyer(shop, owner.customer_id)
            if owner_state.referrer_kind == "customer":
                owner_referred_by = owner_state.referrer_id
        if buyer.bound_code == owner.code and buyer.bound_at in attempted:
            # An earlier attempt of this request committed and its answer was lost (a retried
            # write then saw its own binding): the signup is done, not refused.
            return _signed_up(owner, buyer.bound_at)
        try:
            outcome = domain.signup(buyer, owner, at, owner_referred_by)
        except SignupRefused as refused:
            s.funnel.add_refusal(shop, owner.code, refused.reason)
            raise
        attempted.add(at)
        if s.customers.commit(shop, outcome, at):
            return _signed_up(owner, at)
    raise AssertionError("unreachable")  # pragma: no cover - attempts() raises when exhausted


def _signed_up(owner: CodeOwner, bound_at: str) -> models.SignupOut:
    return models.SignupOut(
        code=owner.code, referrer_kind=owner.kind, channel_id=owner.channel_id, bound_at=bound_at
    )


def _reward_out(reward: RewardRecord) -> models.RewardOut:
    return models.RewardOut(
        grant_id=reward.grant_id,
        side=reward.side,
        template_id=reward.template_id,
        status=reward.status,
        coupon_id=reward.coupon_id,
        reason=reward.reason,
        order_id=reward.order_id or None,
        release_at=reward.release_at if reward.status == "held" else None,
        created_at=reward.created_at,
        updated_at=reward.updated_at,
    )


def me(shop: str, customer_id: str, stores: Stores | None = None) -> models.MeOut:
    """The caller's code, referral counts and rewards (newest first, at most 100)."""
    view = real(stores).customers.view(shop, customer_id)
    rewards = sorted(view.rewards, key=lambda r: (r.created_at, r.grant_id), reverse=True)[:ME_REWARDS_LIMIT]
    buyer = view.buyer
    referred_by = None
    if buyer is not None and buyer.bound_code and buyer.referrer_kind and buyer.bound_at:
        referred_by = models.ReferredBy(
            code=buyer.bound_code,
            kind=buyer.referrer_kind,
            bound_at=buyer.bound_at,
            converted=bool(buyer.converted_at),
        )
    code = view.own_code
    return models.MeOut(
        code=code,
        url=url(shop, code) if code else None,
        referred_count=view.counts.referred_count,
        converted_count=view.counts.converted_count,
        rewards=[_reward_out(r) for r in rewards],
        referred_by=referred_by,
    )


def report(shop: str, query: models.ReportQuery, stores: Stores | None = None) -> models.ReportOut:
    """The funnel per code (a channel has one code): one page, or the row of one code/channel."""
    s = real(stores)
    cursor = None
    if query.channel_id is not None or query.code is not None:
        code = query.code
        if query.channel_id is not None:
            channel = get_channel(shop, query.channel_id, s)
            if code is not None and domain.normalize_code(code) != channel.code:
                return models.ReportOut(items=[], next_cursor=None)
            code = channel.code
        assert code is not None
        owners = [owner_or_404(s, shop, code)]
    else:
        prefix = domain.CODE_PREFIX[query.kind] if query.kind else None
        records, cursor = s.codes.page(shop, query, prefix)
        owners = [r.owner for r in records]
    stats = s.funnel.stats_for(shop, [owner.code for owner in owners])
    rows = [
        models.ReportRow(**domain.report_row(o, stats[o.code].counters, stats[o.code].visits)) for o in owners
    ]
    return models.ReportOut(items=rows, next_cursor=cursor)
