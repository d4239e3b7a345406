"""Running a campaign, pure: a template's status, what pause, resume and end may do, what an
edit may change, how many stock shards a grab needs, and when a lock lapses.

**Status.** The merchant sets ``active``, ``paused`` or ``ended`` (``Template.status``); the
claim window adds ``scheduled`` and ``ended``. What a reader sees, first match wins:
``ended`` (ended by the merchant, or the window is over), ``paused``, ``scheduled``,
``active``.

**Transitions.** pause: active -> paused; resume: paused -> active; end: active or paused
-> ended, for good. Asking for the state a template is already in answers it as it is
(idempotent). Anything else is 409 ``ended`` (the template was ended) or 409 ``paused``.

**Edits only widen.** A rename; ``valid_until`` later than it was (never earlier, never set
on a template without an end); ``per_customer_limit`` raised, never lowered; ``add_stock``
of at least 1 (not on a lucky template: its pack of amounts was drawn once, at creation).
So a process that still holds the terms from before an edit (templates are cached for a
few seconds) refuses nothing it should allow for longer than that and never allows what it
should refuse. Pause and end are not read from that cache: they are marked on every stock
shard (``store.stock``), where every claim's write checks them.

**Shards.** Each stock shard is its own partition, and a claim writes its shard twice (take
the unit, then clear the claim's in-flight marker). A partition takes 1,000 write units/s,
so one shard serves at most 500 claims/s; sizing aims at half of that, 250 claims/s
(``shards_for_rate``): random shard choice is uneven and adaptive capacity reacts late
(bench/README.md works the numbers through).

**Locks lapse.** A coupon locked to an order is free again ``lock_ttl_seconds`` after the
lock (the template's setting, else the shop's, else 1,800: ``lock_ttl``) unless the order
was paid or cancelled first. Nothing runs to expire it: a lapsed lock reads as
``available``, may be locked by another order, and a payment of any order may redeem it
(``paid_decision``). A payment of the order that locked it still redeems it while no other
order has locked it since.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from campaign_shared.errors import Conflict, InvalidRequest
from chalicelib.coupons.domain.terms import CouponTerms, TemplateTerms

ACTIVE, PAUSED, ENDED, SCHEDULED = "active", "paused", "ended", "scheduled"
STATUSES = (SCHEDULED, ACTIVE, PAUSED, ENDED)
ACTIONS = {"pause": PAUSED, "resume": ACTIVE, "end": ENDED}

SHARD_WRITES_PER_CLAIM = 2  # take the unit, clear the claim's marker
PARTITION_WRITE_UNITS = 1000  # per second, per partition (DynamoDB)
SHARD_UTILISATION = 0.5  # 2x headroom: uneven random choice, retries, late adaptive capacity
MAX_STOCK_SHARDS = 512  # 128,000 claims/s at the target utilisation
DEFAULT_LOCK_TTL_SECONDS = 1800


def _parse(text: str) -> datetime:
    from campaign_shared import clock

    return clock.parse(text)


# ---- status --------------------------------------------------------------------------------


def window_state(template: TemplateTerms, now: datetime) -> str:
    """``scheduled`` before ``valid_from``, ``ended`` from ``valid_until`` on, else ``active``."""
    start, end = template.valid_from, template.valid_until
    if start is not None and now < _parse(start):
        return SCHEDULED
    if end is not None and now >= _parse(end):
        return ENDED
    return ACTIVE


def template_status(template: TemplateTerms, now: datetime) -> str:
    """What a reader sees (see the module): the status the merchant set and the window."""
    window = window_state(template, now)
    if template.status == ENDED or window == ENDED:
        return ENDED
    if template.status == PAUSED:
        return PAUSED
    return window


def transition(template: TemplateTerms, action: str, now: datetime) -> str | None:
    """The status ``action`` (``pause``, ``resume``, ``end``) sets; ``None``: nothing to
    change (it is there already). 409 ``ended`` when the template was ended, or when its
    window is over and the action is not ``end``."""
    target = ACTIONS[action]
    if template.status == target:
        return None
    if template.status == ENDED:
        raise Conflict("this template has been ended; it cannot change any more", code="ended")
    if target != ENDED and window_state(template, now) == ENDED:
        raise Conflict("this template's claim window is over; extend valid_until first", code="ended")
    return target


def claim_refusal(halted: str) -> Conflict:
    """The 409 of a claim that met a halted stock shard."""
    if halted == PAUSED:
        return Conflict("this coupon is paused; try again later", code="paused")
    return Conflict("this coupon can no longer be claimed", code="not_active")


# ---- edits ---------------------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details=[{"loc": ["body", field], "msg": message}])


def plan_edit(
    template: TemplateTerms, changes: Mapping[str, Any], *, max_stock: int, now: datetime
) -> dict[str, dict[str, Any]]:
    """The fields an edit changes, as ``{field: {"from": old, "to": new}}`` (``add_stock``:
    ``added``, and ``total_stock`` from and to). Fields asked with their current value are
    left out; an edit that changes nothing is 400. 409 ``ended`` on an ended template."""
    per_customer_limit, total_stock = template.per_customer_limit, template.total_stock
    if template.status == ENDED:
        raise Conflict("this template has been ended; it cannot be edited", code="ended")
    diff: dict[str, dict[str, Any]] = {}
    name = changes.get("name")
    if name is not None and name != template.name:
        diff["name"] = {"from": template.name, "to": name}
    until = changes.get("valid_until")
    if until is not None and until != template.valid_until:
        if template.valid_until is None:
            raise _bad("valid_until", "this template has no end; valid_until can only be extended")
        if _parse(until) < _parse(template.valid_until):
            raise _bad("valid_until", "valid_until can only be extended, not brought forward")
        if _parse(until) <= now:
            raise _bad("valid_until", "valid_until must be in the future")
        diff["valid_until"] = {"from": template.valid_until, "to": until}
    limit = changes.get("per_customer_limit")
    if limit is not None and limit != per_customer_limit:
        if limit < per_customer_limit:
            raise _bad("per_customer_limit", "per_customer_limit can only be raised")
        diff["per_customer_limit"] = {"from": per_customer_limit, "to": limit}
    add = changes.get("add_stock")
    if add is not None:
        if add < 1:
            raise _bad("add_stock", "add_stock must be at least 1")
        if template.kind == "lucky":
            raise _bad("add_stock", "a lucky template's pack was drawn at creation; its stock is fixed")
        if total_stock + add > max_stock:
            raise _bad("add_stock", f"a template holds at most {max_stock} coupons")
        diff["add_stock"] = {"added": add, "from": total_stock, "to": total_stock + add}
    if not diff:
        raise InvalidRequest(
            "the edit changes nothing", details=[{"loc": ["body"], "msg": "nothing to change"}]
        )
    return diff


# ---- shards --------------------------------------------------------------------------------


def shards_for_rate(claims_per_second: int) -> int:
    """The stock shards a peak of ``claims_per_second`` on one template needs (see the module),
    at most ``MAX_STOCK_SHARDS``."""
    per_shard = PARTITION_WRITE_UNITS * SHARD_UTILISATION / SHARD_WRITES_PER_CLAIM
    return max(1, min(MAX_STOCK_SHARDS, math.ceil(claims_per_second / per_shard)))


def spread(units: int, caps: list[int]) -> list[int]:
    """How ``units`` of added stock go over shards holding ``caps``: as even as possible, the
    extra units to the shards holding the least."""
    base, extra = divmod(units, len(caps))
    order = sorted(range(len(caps)), key=lambda n: (caps[n], n))
    shares = [base] * len(caps)
    for n in order[:extra]:
        shares[n] += 1
    return shares


# ---- locks ---------------------------------------------------------------------------------


def lock_ttl(own: int | None, shop: int | None) -> int:
    """How long a lock holds: the template's own setting (copied onto its coupons), else the
    shop's, else ``DEFAULT_LOCK_TTL_SECONDS``."""
    return own or shop or DEFAULT_LOCK_TTL_SECONDS


def lock_expiry(now: datetime, ttl_seconds: int | None) -> datetime:
    return now + timedelta(seconds=ttl_seconds or DEFAULT_LOCK_TTL_SECONDS)


def lock_lapsed(coupon: CouponTerms, now: datetime) -> bool:
    """A ``locked`` coupon whose lock has run out (a lock from before lock expiry was
    recorded runs out ``DEFAULT_LOCK_TTL_SECONDS`` after it was taken)."""
    if coupon.status != "locked":
        return False
    until = coupon.lock_expires_at
    if until is None:
        if coupon.locked_at is None:
            return False
        return now >= lock_expiry(_parse(coupon.locked_at), None)
    return now >= _parse(until)


# ---- budgets -------------------------------------------------------------------------------


def budget_hold(coupon: CouponTerms) -> int:
    """What a lock of the coupon holds of its template's budget: the most it can take off an
    order (its amount, or a percent_off coupon's ``max_discount_amount``; a budget needs one)."""
    if coupon.kind == "percent_off":
        return int(coupon.max_discount_amount or 0)
    return int(coupon.amount_off or 0)


def budget_refusal() -> Conflict:
    return Conflict("this campaign's discount budget is used up", code="budget_exhausted")
