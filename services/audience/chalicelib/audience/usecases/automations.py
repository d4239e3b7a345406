"""Lifecycle automations: rules, enrollment on events and on scheduled runs, the coupon grants
of the treatment arm, their answers, and the lift report (``domain.automations``).

Crash safety: an enrollment is written on the profile first (once per rule and cycle, with its
arm); a treatment enrollment that is due is then granted (``coupon.grant`` with a grant id
derived from rule, cycle and customer, so the coupons service issues at most one coupon
however often it is sent) and marked ``sent``. A crash between the grant and the mark only
sends the same grant again on the next event or run.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

from campaign_shared import clock, messaging
from campaign_shared.errors import InvalidRequest, NotFound
from campaign_shared.grants import CouponGrant, CouponGrantResult
from campaign_shared.storage.paging import PageParams
from chalicelib.audience.domain import automations as rules
from chalicelib.audience.domain.reports import RangeError, check_range
from chalicelib.audience.models import (
    AudienceLiftArm,
    AudienceLiftOut,
    AudienceRuleList,
    AudienceRuleOut,
)
from chalicelib.audience.store.keys import PROFILE_SHARDS
from chalicelib.audience.store.records import StoredProfile
from chalicelib.audience.store.rules import RulesRepository
from chalicelib.audience.usecases import profiles
from chalicelib.audience.usecases.common import Stores, stores

RUN_PAGE_TYPE = "audience.rule_page"
PAGE_SIZE = 1000
# An order trigger that happened up to this long before the rule was created still enrolls
# (an order paid just before the rule was saved, delivered just after).
CREATION_GRACE = 3600


def _spec(item: dict[str, Any]) -> rules.AudienceRuleSpec:
    return rules.AudienceRuleSpec.model_validate(item["spec"])


def _out(item: dict[str, Any]) -> AudienceRuleOut:
    return AudienceRuleOut(rule_id=item["rule_id"], created_at=item["created_at"], **item["spec"])


def create_rule(shop: str, spec: rules.AudienceRuleSpec) -> AudienceRuleOut:
    repo = RulesRepository()
    if not repo.template_exists(shop, spec.template_id):
        raise InvalidRequest(
            "unknown coupon template",
            details=[{"loc": ["body", "template_id"], "msg": "no such template", "type": "unknown_template"}],
        )
    item = {
        "rule_id": uuid.uuid4().hex[:20],
        "spec": spec.model_dump(mode="json"),
        "created_at": clock.iso(clock.now()),
        "created_epoch": clock.epoch(clock.now()),
    }
    repo.create(shop, item)
    return _out(item)


def get_rule(shop: str, rule_id: str) -> AudienceRuleOut:
    item = RulesRepository().get(shop, rule_id)
    if item is None:
        raise NotFound("no such automation")
    return _out(item)


def list_rules(shop: str, page: PageParams) -> AudienceRuleList:
    items, cursor = RulesRepository().page(shop, page)
    return AudienceRuleList(items=[_out(i) for i in items], next_cursor=cursor)


# ---- enrollment and grants ---------------------------------------------------------------


def _enroll(
    shop: str, customer_id: str, rule_id: str, spec: rules.AudienceRuleSpec, cycle: str, at: int
) -> None:
    def change(stored: StoredProfile) -> StoredProfile | None:
        key = f"{rule_id}|{cycle}"
        if key in stored.enrollments:
            return None
        e = rules.enroll(rule_id, spec, customer_id, cycle, at)
        return replace(stored, enrollments={**stored.enrollments, key: e})

    profiles.apply_profile(shop, customer_id, change)


def _send_due(shop: str, customer_id: str, rule_items: dict[str, dict[str, Any]], now: int) -> int:
    """Grant every due treatment enrollment of the customer (for the given rules); then mark them."""
    stored = stores().profiles.get(shop, customer_id)
    if stored is None:
        return 0
    due = [
        e
        for e in stored.enrollments.values()
        if e.status == "due" and e.due_at <= now and e.rule_id in rule_items
    ]
    for e in due:
        grant = CouponGrant(
            grant_id=rules.grant_id(e.rule_id, e.cycle, customer_id),
            shop=shop,
            template_id=_spec(rule_items[e.rule_id]).template_id,
            customer_id=customer_id,
            reply_to="audience",
        )
        messaging.send("coupons", grant.model_dump())

    def mark(current: StoredProfile) -> StoredProfile | None:
        marked = dict(current.enrollments)
        for e in due:
            if marked.get(e.key) is not None and marked[e.key].status == "due":
                marked[e.key] = replace(marked[e.key], status="sent")
        return replace(current, enrollments=marked) if marked != current.enrollments else None

    if due:
        profiles.apply_profile(shop, customer_id, mark)
    return len(due)


def on_orders_changed(shop: str, customer_id: str, using: Stores | None = None) -> None:
    """Evaluate the shop's order triggers for the customer (after any order message, even a
    duplicate: a crash may have come between the profile write and the enrollment)."""
    items = {i["rule_id"]: i for i in (using or stores()).rules.for_shop(shop)}
    if not items:
        return
    stored = stores().profiles.get(shop, customer_id)
    if stored is None:
        return
    for rule_id, item in items.items():
        spec = _spec(item)
        fired = rules.order_trigger(spec, stored.orders)
        if fired is None or f"{rule_id}|{fired[0]}" in stored.enrollments:
            continue
        if fired[1] < int(item.get("created_epoch", 0)) - CREATION_GRACE:
            continue  # the trigger happened before the rule existed
        _enroll(shop, customer_id, rule_id, spec, fired[0], fired[1])
    _send_due(shop, customer_id, items, clock.epoch(clock.now()))


def on_tag_added(shop: str, customer_id: str, tag: str) -> None:
    items = {i["rule_id"]: i for i in RulesRepository().for_shop(shop)}
    now = clock.epoch(clock.now())
    for rule_id, item in items.items():
        spec = _spec(item)
        if isinstance(spec.trigger, rules.AudienceTagAdded) and spec.trigger.tag == tag:
            _enroll(shop, customer_id, rule_id, spec, "1", now)
    if items:
        _send_due(shop, customer_id, items, now)


def on_grant_result(result: CouponGrantResult) -> None:
    parsed = rules.parse_grant_id(result.grant_id)
    if parsed is None:
        return
    key = f"{parsed[0]}|{parsed[1]}"

    def change(stored: StoredProfile) -> StoredProfile | None:
        e = stored.enrollments.get(key)
        if e is None or e.status in ("issued", "failed"):
            return None
        done = replace(e, status=result.status, coupon_id=result.coupon_id, reason=result.reason)
        return replace(stored, enrollments={**stored.enrollments, key: done})

    profiles.apply_profile(result.shop, result.customer_id, change)


# ---- scheduled runs ------------------------------------------------------------------------


def start_runs(shop: str | None = None, rule_id: str | None = None) -> int:
    """Queue a run (one message chain per profile shard) of every rule, or of one."""
    now = clock.epoch(clock.now())
    targets = [(shop, rule_id)] if shop and rule_id else list(RulesRepository().everywhere())
    messages = [
        {"type": RUN_PAGE_TYPE, "shop": s, "rule_id": r, "shard": n, "start": None, "as_of": now}
        for s, r in targets
        for n in range(PROFILE_SHARDS)
    ]
    messaging.send_batch("audience", messages)
    return len(targets)


def start_rule_run(shop: str, rule_id: str) -> AudienceRuleOut:
    out = get_rule(shop, rule_id)
    start_runs(shop, rule_id)
    return out


def run_page(message: dict[str, Any]) -> None:
    """One page of one shard of a rule's run: lapse enrollments and due grants. Each customer's
    steps are idempotent, so a redelivered page repeats nothing."""
    shop, rule_id, as_of = message["shop"], message["rule_id"], int(message["as_of"])
    item = RulesRepository().get(shop, rule_id)
    if item is None:
        return
    spec = _spec(item)
    page, next_start = stores().profiles.shard_page(
        shop, int(message["shard"]), message.get("start"), PAGE_SIZE
    )
    for stored in page:
        fired = rules.lapse_trigger(spec, stored.orders, as_of)
        if fired is not None and f"{rule_id}|{fired[0]}" not in stored.enrollments:
            _enroll(shop, stored.customer_id, rule_id, spec, fired[0], fired[1])
        _send_due(shop, stored.customer_id, {rule_id: item}, as_of)
    if next_start:
        messaging.send("audience", {**message, "start": next_start})


# ---- lift ----------------------------------------------------------------------------------


def lift_report(shop: str, rule_id: str, first: date, last: date) -> AudienceLiftOut:
    try:
        check_range(first, last)
    except RangeError as exc:
        raise InvalidRequest(str(exc), details=[{"loc": ["query", "to"], "msg": str(exc)}]) from None
    get_rule(shop, rule_id)
    sums: dict[str, dict[str, int]] = {"treatment": {}, "control": {}}
    for side, cell in stores().counters.read_lift(shop, rule_id, first.isoformat(), last.isoformat()):
        target = sums.setdefault(side, {})
        for f, v in cell.items():
            target[f] = target.get(f, 0) + v
    arms = {
        side: rules.Arm(
            customers=s.get("n", 0),
            repurchasers=s.get("repurchasers", 0),
            gmv=s.get("gmv", 0),
            gmv_sq=s.get("gmv_sq", 0),
            cost=s.get("cost", 0),
        )
        for side, s in sums.items()
    }
    result = rules.lift(arms["treatment"], arms["control"])

    def arm_out(a: rules.Arm) -> AudienceLiftArm:
        return AudienceLiftArm(
            customers=a.customers,
            repurchasers=a.repurchasers,
            repurchase_rate_bps=a.repurchasers * 10_000 // a.customers if a.customers else 0,
            gmv_amount=a.gmv,
            gmv_per_customer_amount=a.gmv // a.customers if a.customers else 0,
            coupon_cost_amount=a.cost,
        )

    def whole(x: float | None) -> int | None:
        return None if x is None else round(x)

    return AudienceLiftOut(
        rule_id=rule_id,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        treatment=arm_out(arms["treatment"]),
        control=arm_out(arms["control"]),
        incremental_gmv_per_customer_amount=whole(result.incremental_gmv_per_customer),
        incremental_gmv_amount=whole(result.incremental_gmv),
        ci95_low_per_customer_amount=whole(result.ci_low),
        ci95_high_per_customer_amount=whole(result.ci_high),
        method="Welch's normal approximation on the difference of mean GMV per customer "
        "(per-arm sums and sums of squares), 95%",
        verdict=result.verdict,
    )
