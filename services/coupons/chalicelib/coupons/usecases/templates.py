"""Templates: create one, read one with its counts, and its lucky amounts (paged)."""

from __future__ import annotations

from datetime import datetime

from campaign_shared import clock, ids
from campaign_shared.errors import InvalidRequest, NotFound
from campaign_shared.storage import paging
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import domain
from chalicelib.coupons.models import LuckyAmountsPage, LuckySlot, TemplateIn, TemplateOut
from chalicelib.coupons.store.records import Change, Shard, Template
from chalicelib.coupons.usecases import Stores, stores_or_default


def template_or_404(stores: Stores, shop: str, template_id: str, *, fresh: bool = False) -> Template:
    template = stores.templates.get(shop, template_id, fresh=fresh)
    if template is None:
        raise NotFound("no such template")
    return template


def create_template(
    shop: str, body: TemplateIn, stores: Stores | None = None, *, actor: str = ""
) -> TemplateOut:
    """A template, its stock shards (``stock_shards``, else sized from the expected peak
    rate, else the stack's setting) and the first entry of its history."""
    from campaign_shared.settings import get_settings

    s = stores_or_default(stores)
    now = clock.now()
    domain.check_new_template(
        clock.parse(body.valid_from) if body.valid_from else None,
        clock.parse(body.valid_until) if body.valid_until else None,
        now,
    )
    shards = body.stock_shards
    if shards is None:
        rate = body.expected_peak_claims_per_second
        shards = domain.shards_for_rate(rate) if rate else get_settings().stock_shards
    caps = domain.shard_caps(body.total_stock, shards)
    lucky = domain.split_lucky(body.lucky_total_amount or 0, body.total_stock) if body.kind == "lucky" else []
    fields = body.model_dump(exclude={"stock_shards", "expected_peak_claims_per_second"})
    template = Template.from_item(
        {
            **fields,
            "template_id": ids.new_id("tpl-"),
            "created_at": clock.iso(now),
            "shard_count": len(caps),
            "status": "active",
            "version": 1,
        }
    )
    created = Change(version=1, at=clock.iso(now), actor=actor, action="created")
    if template.budget_amount is not None:
        s.budgets.create(shop, template.template_id)
    s.templates.create(shop, template, caps, domain.lucky_chunks(lucky), created)
    shop_ttl = s.settings.get(shop).lock_ttl_seconds
    return template_out(template, [Shard(cap=cap) for cap in caps], now, shop_lock_ttl=shop_ttl)


def template_out(
    template: Template,
    shards: list[Shard],
    now: datetime,
    budget_used: int | None = None,
    shop_lock_ttl: int | None = None,
) -> TemplateOut:
    issued = sum(s.taken for s in shards)
    return TemplateOut.model_validate(
        {
            **template.to_item(),
            "state": domain.window_state(template, now),
            "status": domain.template_status(template, now),
            "stock_shards": template.shard_count,
            "lock_ttl_seconds": domain.lock_ttl(template.lock_ttl_seconds, shop_lock_ttl),
            "issued_count": issued,
            "redeemed_count": sum(s.redeemed - s.returned for s in shards),
            "discount_total_amount": sum(s.discount_total - s.returned_discount for s in shards),
            "redeemed_gmv_amount": sum(s.gmv_total - s.returned_gmv for s in shards),
            "budget_used_amount": budget_used,
            "remaining_stock": template.total_stock - issued,
        }
    )


def lucky_amounts(
    shop: str, template_id: str, page: PageParams, stores: Stores | None = None
) -> LuckyAmountsPage:
    """The drawn amounts, ``page.limit`` slots from the cursor (an opaque, sealed slot number)."""
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id)
    if template.kind != "lucky":
        raise NotFound("this template has no lucky amounts")
    total = template.total_stock
    start = 0
    if page.cursor:
        slot = (paging.decode_cursor(page.cursor) or {}).get("slot")
        if type(slot) is not int or not 0 <= slot < total:
            raise InvalidRequest("invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid"}])
        start = slot
    slots = list(range(start, min(total, start + page.limit)))
    amounts = s.templates.lucky_amounts(shop, template_id, [domain.lucky_position(n)[0] for n in slots])
    items = [
        LuckySlot(slot=n, amount=amounts[n // domain.LUCKY_CHUNK][n % domain.LUCKY_CHUNK]) for n in slots
    ]
    following = start + len(slots)
    return LuckyAmountsPage(
        total_amount=int(template.lucky_total_amount or 0),
        items=items,
        next_cursor=paging.encode_cursor({"slot": following}) if following < total else None,
    )


def lucky_amounts_of(stores: Stores, shop: str, template: Template, slots: list[int]) -> dict[int, int]:
    """The drawn amount of each stock slot of a lucky template (nothing for other kinds)."""
    if template.kind != "lucky" or not slots:
        return {}
    positions = {n: domain.lucky_position(n) for n in slots}
    chunks = stores.templates.lucky_amounts(shop, template.template_id, [c for c, _ in positions.values()])
    return {n: chunks[c][offset] for n, (c, offset) in positions.items()}
