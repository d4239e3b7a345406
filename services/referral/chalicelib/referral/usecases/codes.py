"""Personal codes, channels, their QR codes, and resolving a code."""

from __future__ import annotations

from campaign_shared import ids, qr
from campaign_shared.errors import NotFound, ServiceUnavailable
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.referral import domain, models
from chalicelib.referral.domain import CodeOwner
from chalicelib.referral.store import Stores
from chalicelib.referral.store.records import ChannelRecord, CodeRecord
from chalicelib.referral.usecases.common import now, owner_or_404, real, url

MAX_ATTEMPTS = 5


def _new_code(
    s: Stores, shop: str, kind: domain.CustomerKind, owner_id: str, name: str | None, at: str
) -> str:
    for _ in retry.attempts(MAX_ATTEMPTS, busy="could not allocate a referral code; retry"):
        code = domain.CODE_PREFIX[kind] + ids.short_code(domain.CODE_LENGTH - 1)
        owner = CodeOwner(shop=shop, code=code, kind=kind, owner_id=owner_id, name=name)
        if s.codes.create(CodeRecord(owner=owner, created_at=at)):
            return code
    raise AssertionError("unreachable")  # pragma: no cover - attempts() raises when exhausted


def customer_code(shop: str, customer_id: str, stores: Stores | None = None) -> models.CodeOut:
    """The customer's one personal code, created on first call."""
    s = real(stores)
    code = s.customers.get_own_code(shop, customer_id)
    if code is None:
        at = now()
        candidate = _new_code(s, shop, "customer", customer_id, None, at)
        if s.customers.put_own_code(shop, customer_id, candidate, at):
            code = candidate
        else:
            code = s.customers.get_own_code(shop, customer_id)
            if code is None:
                raise ServiceUnavailable("could not record the referral code; retry")
            if code != candidate:  # a concurrent call won: keep its code, drop ours (unseen)
                s.codes.delete(shop, candidate)
            # (code == candidate: an earlier attempt of this write committed; its answer was lost)
    return models.CodeOut(code=code, url=url(shop, code))


def create_channel(shop: str, body: models.ChannelIn, stores: Stores | None = None) -> models.ChannelOut:
    s = real(stores)
    at = now()
    channel_id = ids.new_id("ch")
    code = _new_code(s, shop, "channel", channel_id, body.name, at)
    try:
        s.channels.create(ChannelRecord(shop, channel_id, body.name, code, at))
    except Exception:
        s.codes.delete(shop, code)
        raise
    return models.ChannelOut(
        channel_id=channel_id, code=code, url=url(shop, code), name=body.name, created_at=at
    )


def _channel_out(record: ChannelRecord) -> models.ChannelOut:
    return models.ChannelOut(
        channel_id=record.channel_id,
        code=record.code,
        url=url(record.shop, record.code),
        name=record.name,
        created_at=record.created_at,
    )


def get_channel(shop: str, channel_id: str, stores: Stores | None = None) -> models.ChannelOut:
    record = real(stores).channels.get(shop, channel_id)
    if record is None:
        raise NotFound("no such channel")
    return _channel_out(record)


def list_channels(shop: str, page: PageParams, stores: Stores | None = None) -> models.ChannelList:
    records, cursor = real(stores).codes.page(shop, page, domain.CODE_PREFIX["channel"])
    channels = [
        _channel_out(ChannelRecord(shop, r.owner.owner_id, r.owner.name or "", r.owner.code, r.created_at))
        for r in records
        if r.owner.kind == "channel"
    ]
    return models.ChannelList(items=channels, next_cursor=cursor)


def channel_qr(
    shop: str, channel_id: str, kind: str, query: models.QrQuery, stores: Stores | None = None
) -> tuple[str | bytes, str]:
    """The QR code of the channel's URL: (body, content type)."""
    return qr.image(get_channel(shop, channel_id, stores).url, kind, query)


def resolve(shop: str, code: str, stores: Stores | None = None) -> models.PublicCode:
    owner = owner_or_404(real(stores), shop, code)
    return models.PublicCode(shop=shop, code=owner.code, kind=owner.kind)
