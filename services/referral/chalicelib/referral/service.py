"""The referral routes' orchestration: read through the store, decide in the domain, write
through the store. Nothing here knows HTTP beyond the shared error types."""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, dynamo, ids
from campaign_shared.errors import InvalidRequest, NotFound, ServiceUnavailable
from campaign_shared.settings import get_settings
from chalicelib.referral import domain, models, qr, store
from chalicelib.referral.domain import CodeOwner, Program, SignupRefused, counters, rewards

MAX_ATTEMPTS = 5
ME_REWARDS_LIMIT = 100


def _now() -> str:
    return clock.iso(clock.now())


def _url(shop: str, code: str) -> str:
    return domain.code_url(get_settings().public_base_url, shop, code)


def _owner_or_404(shop: str, code: str) -> CodeOwner:
    owner = store.get_code(shop, domain.normalize_code(code))
    if owner is None:
        raise NotFound("no such referral code")
    return owner


# ---- program ---------------------------------------------------------------------------


def _program_out(program: Program, updated_at: str) -> models.ProgramOut:
    return models.ProgramOut(
        referrer_template_id=program.referrer_template_id,
        referee_template_id=program.referee_template_id,
        min_order_amount=program.min_order_amount,
        max_rewards_per_referrer=program.max_rewards_per_referrer,
        reward_hold_days=program.reward_hold_days,
        updated_at=updated_at,
    )


def put_program(shop: str, body: models.ProgramIn) -> models.ProgramOut:
    """Set the shop's program; both templates must exist in the shop's coupons, and the
    referrer template's ``per_customer_limit`` must allow ``max_rewards_per_referrer`` coupons
    (else 400, nothing written). A template deleted later shows as a failed reward, never a
    lost one."""
    details = []
    checked: dict[str, dict[str, Any] | None] = {}
    for field in ("referrer_template_id", "referee_template_id"):
        template_id = getattr(body, field)
        if template_id not in checked:
            checked[template_id] = store.coupon_template(shop, template_id)
        template = checked[template_id]
        if template is None:
            details.append(
                {"loc": ["body", field], "msg": f"no coupon template {template_id}", "type": "not_found"}
            )
        elif field == "referrer_template_id":
            limit = int(template["per_customer_limit"])
            problem = rewards.limit_problem(limit, body.max_rewards_per_referrer)
            if problem:
                loc = ["body", "max_rewards_per_referrer"]
                details.append({"loc": loc, "msg": problem, "type": "template_limit_too_low"})
    if details:
        raise InvalidRequest(f"invalid body: {details[0]['loc'][1]}: {details[0]['msg']}", details=details)
    program = Program(
        referrer_template_id=body.referrer_template_id,
        referee_template_id=body.referee_template_id,
        min_order_amount=body.min_order_amount,
        max_rewards_per_referrer=body.max_rewards_per_referrer,
        reward_hold_days=body.reward_hold_days,
    )
    now = _now()
    store.put_program(shop, program, now)
    return _program_out(program, now)


def get_program(shop: str) -> models.ProgramOut:
    found = store.get_program(shop)
    if found is None:
        raise NotFound("no referral program")
    return _program_out(*found)


# ---- codes and channels ------------------------------------------------------------------


def _new_code(shop: str, kind: domain.CustomerKind, owner_id: str, name: str | None, now: str) -> str:
    for _ in range(MAX_ATTEMPTS):
        code = domain.CODE_PREFIX[kind] + ids.short_code(domain.CODE_LENGTH - 1)
        if store.put_code(CodeOwner(shop=shop, code=code, kind=kind, owner_id=owner_id, name=name), now):
            return code
    raise ServiceUnavailable("could not allocate a referral code; retry")


def customer_code(shop: str, customer_id: str) -> models.CodeOut:
    """The customer's one personal code, created on first call."""
    code = store.get_own_code(shop, customer_id)
    if code is None:
        now = _now()
        candidate = _new_code(shop, "customer", customer_id, None, now)
        if store.put_own_code(shop, customer_id, candidate, now):
            code = candidate
        else:
            code = store.get_own_code(shop, customer_id)
            if code is None:
                raise ServiceUnavailable("could not record the referral code; retry")
            if code != candidate:  # a concurrent call won: keep its code, drop ours (unseen)
                store.delete_code(shop, candidate)
            # (code == candidate: an earlier attempt of this write committed; its answer was lost)
    return models.CodeOut(code=code, url=_url(shop, code))


def create_channel(shop: str, body: models.ChannelIn) -> models.ChannelOut:
    now = _now()
    channel_id = ids.new_id("ch")
    code = _new_code(shop, "channel", channel_id, body.name, now)
    try:
        store.put_channel(shop, channel_id, body.name, code, now)
    except Exception:
        store.delete_code(shop, code)
        raise
    return models.ChannelOut(
        channel_id=channel_id, code=code, url=_url(shop, code), name=body.name, created_at=now
    )


def _channel_out(shop: str, item: dict[str, Any]) -> models.ChannelOut:
    return models.ChannelOut(
        channel_id=item["channel_id"],
        code=item["code"],
        url=_url(shop, item["code"]),
        name=item["name"],
        created_at=item["created_at"],
    )


def get_channel(shop: str, channel_id: str) -> models.ChannelOut:
    item = store.get_channel(shop, channel_id)
    if item is None:
        raise NotFound("no such channel")
    return _channel_out(shop, item)


def list_channels(shop: str, page: dynamo.PageParams) -> models.ChannelList:
    owners, created, cursor = store.list_codes(shop, page, prefix=domain.CODE_PREFIX["channel"])
    channels = [
        _channel_out(shop, {"channel_id": o.owner_id, "code": o.code, "name": o.name, "created_at": at})
        for o, at in zip(owners, created, strict=True)
        if o.kind == "channel"
    ]
    return models.ChannelList(items=channels, next_cursor=cursor)


def channel_qr(shop: str, channel_id: str, kind: str, query: models.QrQuery) -> tuple[str | bytes, str]:
    """The QR code of the channel's URL: (body, content type)."""
    url = get_channel(shop, channel_id).url
    if kind == "png":
        return qr.png(url, scale=query.scale, border=query.border), "image/png"
    return qr.svg(url, scale=query.scale, border=query.border), "image/svg+xml"


def resolve(shop: str, code: str) -> models.PublicCode:
    owner = _owner_or_404(shop, code)
    return models.PublicCode(shop=shop, code=owner.code, kind=owner.kind)


# ---- visits and signups ------------------------------------------------------------------


def record_visit(shop: str, body: models.VisitIn) -> models.VisitOut:
    owner = _owner_or_404(shop, body.code)
    new = store.record_visit(shop, owner.code, body.visitor_id, _now())
    return models.VisitOut(code=owner.code, new_visitor=new)


def signup(shop: str, customer_id: str, body: models.SignupIn) -> models.SignupOut:
    """Bind the caller to the code's owner, once; every refusal is counted on the code."""
    owner = _owner_or_404(shop, body.code)
    attempted: set[str] = set()
    for _ in range(MAX_ATTEMPTS):
        now = _now()
        buyer = store.get_buyer(shop, customer_id)
        owner_referred_by = None
        if owner.customer_id is not None and owner.customer_id != customer_id:
            owner_state = store.get_buyer(shop, owner.customer_id)
            if owner_state.referrer_kind == "customer":
                owner_referred_by = owner_state.referrer_id
        if buyer.bound_code == owner.code and buyer.bound_at in attempted:
            # An earlier attempt of this request committed and its answer was lost (a retried
            # write then saw its own binding): the signup is done, not refused.
            return models.SignupOut(
                code=owner.code,
                referrer_kind=owner.kind,
                channel_id=owner.channel_id,
                bound_at=buyer.bound_at,
            )
        try:
            outcome = domain.signup(buyer, owner, now, owner_referred_by)
        except SignupRefused as refused:
            store.add_refusal(shop, owner.code, refused.reason)
            raise
        attempted.add(now)
        if store.commit(shop, outcome, now):
            return models.SignupOut(
                code=owner.code, referrer_kind=owner.kind, channel_id=owner.channel_id, bound_at=now
            )
    raise ServiceUnavailable("the customer is being updated; retry shortly")


# ---- me and the report ---------------------------------------------------------------------


def _reward_out(item: dict[str, Any]) -> models.RewardOut:
    return models.RewardOut(
        grant_id=item["grant_id"],
        side=item["side"],
        template_id=item["template_id"],
        status=item["status"],
        coupon_id=item.get("coupon_id"),
        reason=item.get("reason"),
        order_id=item.get("order_id") or None,
        release_at=item.get("release_at") if item["status"] == "held" else None,
        created_at=item["created_at"],
        updated_at=item["updated_at"],
    )


def me(shop: str, customer_id: str) -> models.MeOut:
    """The caller's code, referral counts and rewards (newest first, at most 100)."""
    items = store.customer_items(shop, customer_id)
    code = (items.get("code") or {}).get("code")
    counters = items.get("referrer") or {}
    rewards = sorted(
        (item for sk, item in items.items() if sk.startswith("reward#")),
        key=lambda item: (item["created_at"], item["grant_id"]),
        reverse=True,
    )[:ME_REWARDS_LIMIT]
    buyer = items.get("buyer") or {}
    referred_by = None
    if buyer.get("bound_code"):
        referred_by = models.ReferredBy(
            code=buyer["bound_code"],
            kind=buyer["referrer_kind"],
            bound_at=buyer["bound_at"],
            converted=bool(buyer.get("converted_at")),
        )
    return models.MeOut(
        code=code,
        url=_url(shop, code) if code else None,
        referred_count=int(counters.get("referred_count", 0)),
        converted_count=int(counters.get("converted_count", 0)),
        rewards=[_reward_out(item) for item in rewards],
        referred_by=referred_by,
    )


def report(shop: str, query: models.ReportQuery) -> models.ReportOut:
    """The funnel per code (a channel has one code): one page, or the row of one code/channel."""
    cursor = None
    if query.channel_id is not None or query.code is not None:
        code = query.code
        if query.channel_id is not None:
            channel = get_channel(shop, query.channel_id)
            if code is not None and domain.normalize_code(code) != channel.code:
                return models.ReportOut(items=[], next_cursor=None)
            code = channel.code
        assert code is not None
        owners = [_owner_or_404(shop, code)]
    else:
        prefix = domain.CODE_PREFIX[query.kind] if query.kind else None
        owners, _, cursor = store.list_codes(shop, query, prefix=prefix)
    stats = store.stats_for(shop, [owner.code for owner in owners])
    rows = [models.ReportRow(**counters.report_row(owner, *stats[owner.code])) for owner in owners]
    return models.ReportOut(items=rows, next_cursor=cursor)
