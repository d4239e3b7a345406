"""Discount budgets (``budget_amount``): a lock holds the coupon's largest discount
(``domain.budget_hold``), a release gives it back, a redemption keeps what it really took
(``store.budgets`` keeps the cap exact). A lock that lapsed is released lazily: when the
budget refuses a new hold, the holds whose locks have lapsed are reclaimed first."""

from __future__ import annotations

from datetime import datetime

from campaign_shared import clock
from chalicelib.coupons.store.records import Template
from chalicelib.coupons.usecases import Stores


def hold(
    s: Stores, shop: str, template: Template, coupon_id: str, amount: int, until: datetime
) -> int | None:
    """Hold ``amount`` of the template's budget for the coupon (or keep the hold it has): the
    amount the coupon holds now, or None when the budget cannot take it, even after
    reclaiming lapsed holds."""
    limit = int(template.budget_amount or 0)
    tid, until_iso = template.template_id, clock.iso(until)
    outcome, held = s.budgets.reserve(shop, tid, coupon_id, amount, until_iso, limit)
    if outcome != "exhausted":
        return held
    now = clock.iso(clock.now())
    budget = s.budgets.get(shop, tid)
    lapsed = [(c, budget.holds[c], u) for c, u in budget.hold_until.items() if u <= now and c in budget.holds]
    if not lapsed:
        return None
    for coupon, lapsed_amount, held_until in lapsed:
        s.budgets.reclaim(shop, tid, coupon, lapsed_amount, held_until)
    outcome, held = s.budgets.reserve(shop, tid, coupon_id, amount, until_iso, limit)
    return None if outcome == "exhausted" else held


def release(s: Stores, shop: str, template_id: str, coupon_id: str, held: int | None) -> None:
    if held is not None:
        s.budgets.release(shop, template_id, coupon_id, held)
