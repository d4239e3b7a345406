"""Running a campaign (merchant): list templates, read one, pause, resume, end, edit, and the
history of its changes, its stats. The rules are ``domain.campaign``.

Every change is: read the template (fresh, not the process's cached copy), decide, one
transaction (the template as of the version read, and the history entry of the next
version), then bring the stock shards in line with the template (``_settle``: halt marks
for paused and ended, stock an edit added). The shards are settled by the change itself
before it answers; one that crashed in between is settled by the next read or change of
the template. A change that lost the race for a version reads the template again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from campaign_shared import clock, ids
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import domain
from chalicelib.coupons.models import (
    MAX_STOCK,
    TemplateChange,
    TemplateHistoryPage,
    TemplateOut,
    TemplatePage,
    TemplatePatchIn,
    TemplateQuery,
    TemplateStatsOut,
)
from chalicelib.coupons.store.records import Change, Shard, Template
from chalicelib.coupons.usecases import Stores, claims, stores_or_default
from chalicelib.coupons.usecases.templates import template_or_404, template_out

CHANGE_ATTEMPTS = 5  # reads of the template when another change keeps winning the version; then 503
PAST = {"pause": "paused", "resume": "resumed", "end": "ended"}


def _settle(s: Stores, shop: str, template: Template) -> list[Shard]:
    """The template's shards, brought in line with it: halted as its status says, with the
    stock its edits added. Every write is idempotent, so two readers may settle at once."""
    tid = template.template_id
    shards = s.stock.shards(shop, tid, template.shard_count)
    halt = template.status if template.status in ("paused", "ended") else None
    wrote = False
    for n, shard in enumerate(shards):
        if shard.halted != halt and shard.halt_version < template.version:
            s.stock.halt(shop, tid, n, halt, template.version)
            wrote = True
    for edit_id, shares in template.pending_adds.items():
        for n, units in enumerate(shares):
            if units:
                s.stock.add_cap(shop, tid, n, units, edit_id)
        s.templates.finish_add(shop, tid, edit_id)
        wrote = True
    return s.stock.shards(shop, tid, template.shard_count) if wrote else shards


def get_template(shop: str, template_id: str, stores: Stores | None = None) -> TemplateOut:
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    shards = _settle(s, shop, template)
    return template_out(template, shards, clock.now(), _budget_used(s, shop, template), _ttl(s, shop))


def stats(shop: str, template_id: str, stores: Stores | None = None) -> TemplateStatsOut:
    """Where the template's coupons stand now: the counters its shards and template keep
    (issued, redeemed, discount, GMV, invalidated) and two counts of the coupons' indexes
    (running locks; unused coupons whose expiry has passed), read after the counters."""
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    now = clock.now()
    out = template_out(
        template, _settle(s, shop, template), now, _budget_used(s, shop, template), _ttl(s, shop)
    )
    locked, expired = s.coupons.counts(shop, template_id, template.shard_count, clock.iso(now))
    return TemplateStatsOut.model_validate(
        {**out.model_dump(), "as_of": clock.iso(now), "locked_count": locked, "expired_count": expired}
    )


def list_templates(shop: str, query: TemplateQuery, stores: Stores | None = None) -> TemplatePage:
    """The shop's templates, newest first, filtered by status now, kind and name; one batched
    read of their shards for the counts (and a read of each budget, for templates with one)."""
    s = stores_or_default(stores)
    now = clock.now()
    found, cursor = s.templates.page(
        shop, query, status=query.status, kind=query.kind, name=query.name, now_iso=clock.iso(now)
    )
    shards = s.stock.shards_of(shop, [(t.template_id, t.shard_count) for t in found])
    ttl = _ttl(s, shop)
    items = [template_out(t, shards[t.template_id], now, _budget_used(s, shop, t), ttl) for t in found]
    return TemplatePage(items=items, next_cursor=cursor)


def _ttl(s: Stores, shop: str) -> int | None:
    """The shop's lock time, which a template without its own follows."""
    return s.settings.get(shop).lock_ttl_seconds


def _budget_used(s: Stores, shop: str, template: Template) -> int | None:
    return s.budgets.get(shop, template.template_id).used if template.budget_amount is not None else None


def change_status(
    shop: str, template_id: str, action: str, actor: str, stores: Stores | None = None
) -> TemplateOut:
    """``pause``, ``resume`` or ``end`` (``domain.campaign.transition``): the template as it
    is afterwards. Asking again for the status it has answers it (and settles its shards)."""
    s = stores_or_default(stores)
    for _ in retry.attempts(CHANGE_ATTEMPTS, busy="the template kept changing; retry shortly"):
        template = template_or_404(s, shop, template_id, fresh=True)
        now = clock.now()
        target = domain.transition(template, action, now)
        if target is None:
            return template_out(template, _settle(s, shop, template), now, shop_lock_ttl=_ttl(s, shop))
        change = Change(
            version=template.version + 1,
            at=clock.iso(now),
            actor=actor,
            action=PAST[action],
            changes={"status": {"from": template.status, "to": target}},
        )
        if s.templates.change(shop, template, {"status": target}, change, {}):
            changed = dataclasses.replace(template, status=target, version=change.version)
            return template_out(changed, _settle(s, shop, changed), now, shop_lock_ttl=_ttl(s, shop))
    raise AssertionError("unreachable")  # retry.attempts raises once it runs out


def edit(
    shop: str, template_id: str, body: TemplatePatchIn, actor: str, stores: Stores | None = None
) -> TemplateOut:
    """Rename, extend ``valid_until``, raise ``per_customer_limit``, ``add_stock``
    (``domain.campaign.plan_edit``). Added stock is spread over the shards, the least full
    first, and each shard's cap grows by its share once: claims running meanwhile take it
    as soon as it lands, and never more than the new total."""
    s = stores_or_default(stores)
    asked = body.model_dump(exclude_none=True)
    for _ in retry.attempts(CHANGE_ATTEMPTS, busy="the template kept changing; retry shortly"):
        template = template_or_404(s, shop, template_id, fresh=True)
        shards = _settle(s, shop, template)
        now = clock.now()
        diff = domain.plan_edit(template, asked, max_stock=MAX_STOCK, now=now)
        sets: dict[str, Any] = {field: d["to"] for field, d in diff.items() if field != "add_stock"}
        pending: dict[str, list[int]] = {}
        if "add_stock" in diff:
            sets["total_stock"] = diff["add_stock"]["to"]
            pending[ids.new_id("add-")] = domain.spread(diff["add_stock"]["added"], [n.cap for n in shards])
        change = Change(
            version=template.version + 1, at=clock.iso(now), actor=actor, action="edited", changes=diff
        )
        if s.templates.change(shop, template, sets, change, pending):
            changed = dataclasses.replace(
                template, **sets, version=change.version, pending_adds={**template.pending_adds, **pending}
            )
            shards = _settle(s, shop, changed)
            claims.forget_empty(shop, template_id)  # all of the new stock is on the shards now
            return template_out(changed, shards, now, shop_lock_ttl=_ttl(s, shop))
    raise AssertionError("unreachable")


def history(
    shop: str, template_id: str, page: PageParams, stores: Stores | None = None
) -> TemplateHistoryPage:
    """The template's changes, oldest first: who, when, what."""
    s = stores_or_default(stores)
    template_or_404(s, shop, template_id)
    found, cursor = s.templates.history(shop, template_id, page)
    return TemplateHistoryPage(
        items=[TemplateChange.model_validate(dataclasses.asdict(c)) for c in found], next_cursor=cursor
    )


def record_invalidation(
    shop: str,
    template_id: str,
    invalidation_id: str,
    voided: int,
    units: int,
    actor: str,
    stores: Stores | None = None,
) -> None:
    """An invalidation's outcome on its template, once per invalidation (a guarded change):
    ``invalidated_count`` grows by ``voided``; ``units`` go back into the stock, spread over the
    shards like added stock."""
    s = stores_or_default(stores)
    for _ in retry.attempts(CHANGE_ATTEMPTS, busy="the template kept changing; retry shortly"):
        template = template_or_404(s, shop, template_id, fresh=True)
        if invalidation_id in template.returns:
            return
        shards = _settle(s, shop, template)
        sets: dict[str, Any] = {"invalidated_count": template.invalidated_count + voided}
        changes: dict[str, Any] = {"invalidation_id": invalidation_id, "voided": voided}
        pending: dict[str, list[int]] = {}
        if units:
            total = template.total_stock
            sets["total_stock"] = total + units
            pending[f"ret-{invalidation_id}"] = domain.spread(units, [n.cap for n in shards])
            changes["stock_returned"] = {"added": units, "from": total, "to": total + units}
        now = clock.now()
        change = Change(template.version + 1, clock.iso(now), actor, "invalidated", changes)
        if s.templates.change(shop, template, sets, change, pending, guard=invalidation_id):
            changed = dataclasses.replace(
                template, **sets, version=change.version, pending_adds={**template.pending_adds, **pending}
            )
            _settle(s, shop, changed)
            claims.forget_empty(shop, template_id)
            return
    raise AssertionError("unreachable")
