"""Running a campaign: the pure rules (status, transitions, edits, shard sizing, spreading added
stock, lock lapse) and the change protocol on fakes (a crash between a change and its shards,
a lost race for the version, stock added exactly once)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest
from chalicelib.coupons import domain
from chalicelib.coupons.models import TemplateIn, TemplatePatchIn
from chalicelib.coupons.store.records import Coupon, Template
from chalicelib.coupons.usecases import campaign, claims, templates

from .fakes import Crash, Faults, fake_stores

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def tpl(**fields) -> Template:
    base = {"template_id": "t1", "name": "n", "kind": "amount_off", "total_stock": 10, "shard_count": 2}
    return Template.from_item(
        {"created_at": "", "amount_off": 100, "status": "active", "version": 1, **base, **fields}
    )


def at(days: float) -> str:
    return clock.iso(NOW + timedelta(days=days))


# ---- status and transitions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "active"),
        ({"valid_from": at(1)}, "scheduled"),
        ({"valid_until": at(-1)}, "ended"),
        ({"status": "paused"}, "paused"),
        ({"status": "paused", "valid_from": at(1)}, "paused"),
        ({"status": "paused", "valid_until": at(-1)}, "ended"),
        ({"status": "ended", "valid_from": at(1)}, "ended"),
    ],
)
def test_the_status_a_reader_sees(fields, status):
    assert domain.template_status(tpl(**fields), NOW) == status


def test_transitions_are_idempotent_and_an_ended_template_never_changes():
    assert domain.transition(tpl(), "pause", NOW) == "paused"
    assert domain.transition(tpl(status="paused"), "pause", NOW) is None
    assert domain.transition(tpl(status="paused"), "resume", NOW) == "active"
    assert domain.transition(tpl(status="paused"), "end", NOW) == "ended"
    assert domain.transition(tpl(status="ended"), "end", NOW) is None
    for action in ("pause", "resume"):
        with pytest.raises(Conflict) as refused:
            domain.transition(tpl(status="ended"), action, NOW)
        assert refused.value.code == "ended"
    with pytest.raises(Conflict):
        domain.transition(tpl(valid_until=at(-1)), "pause", NOW)
    assert domain.transition(tpl(valid_until=at(-1)), "end", NOW) == "ended"


# ---- edits -----------------------------------------------------------------------------------


def test_an_edit_lists_only_what_it_changes():
    diff = domain.plan_edit(
        tpl(valid_until=at(3)),
        {"name": "n", "valid_until": at(5), "per_customer_limit": 2, "add_stock": 4},
        max_stock=100,
        now=NOW,
    )
    assert diff == {
        "valid_until": {"from": at(3), "to": at(5)},
        "per_customer_limit": {"from": 1, "to": 2},
        "add_stock": {"added": 4, "from": 10, "to": 14},
    }


@pytest.mark.parametrize(
    ("fields", "changes"),
    [
        ({"valid_until": at(3)}, {"valid_until": at(2)}),
        ({}, {"valid_until": at(2)}),  # no end: setting one would shorten it
        ({"per_customer_limit": 3}, {"per_customer_limit": 2}),
        ({}, {"add_stock": 0}),
        ({"kind": "lucky", "amount_off": None, "lucky_total_amount": 100}, {"add_stock": 1}),
        ({}, {"add_stock": 91}),  # over max_stock
        ({}, {"name": "n"}),  # changes nothing
        ({}, {}),
    ],
)
def test_an_edit_never_narrows_and_never_changes_nothing(fields, changes):
    with pytest.raises(InvalidRequest):
        domain.plan_edit(tpl(**fields), changes, max_stock=100, now=NOW)


def test_an_ended_template_takes_no_edit():
    with pytest.raises(Conflict) as refused:
        domain.plan_edit(tpl(status="ended"), {"name": "x"}, max_stock=100, now=NOW)
    assert refused.value.code == "ended"


# ---- shards ----------------------------------------------------------------------------------


def test_shards_are_sized_from_the_peak_rate_within_bounds():
    assert domain.shards_for_rate(1) == 1
    assert domain.shards_for_rate(250) == 1
    assert domain.shards_for_rate(251) == 2
    assert domain.shards_for_rate(10_000) == 40  # bench/README.md's 10,000 claims/s
    assert domain.shards_for_rate(100_000) == 400
    assert domain.shards_for_rate(10_000_000) == domain.MAX_STOCK_SHARDS


@given(st.integers(1, 10_000), st.lists(st.integers(0, 1000), min_size=1, max_size=64))
def test_added_stock_is_spread_exactly_and_evenly(units, caps):
    shares = domain.spread(units, caps)
    assert sum(shares) == units and len(shares) == len(caps)
    assert max(shares) - min(shares) <= 1
    extra = [n for n, share in enumerate(shares) if share > units // len(caps)]
    assert all(caps[n] <= caps[m] for n in extra for m in range(len(caps)) if m not in extra)


# ---- locks ------------------------------------------------------------------------------------


def coupon(**fields) -> Coupon:
    return Coupon.from_item(
        {"coupon_id": "c1", "template_id": "t1", "customer_id": "u1", "kind": "amount_off", **fields}
    )


def test_a_lock_lapses_at_its_time_and_reads_as_available():
    locked = coupon(
        status="locked",
        order_id="o1",
        locked_at=at(0),
        lock_expires_at=clock.iso(NOW + timedelta(minutes=30)),
    )
    assert domain.visible_status(locked, NOW + timedelta(minutes=29)) == "locked"
    later = NOW + timedelta(minutes=30)
    assert domain.lock_lapsed(locked, later) and domain.visible_status(locked, later) == "available"
    assert domain.lock_decision(locked, "o2", NOW) == "locked"
    assert domain.lock_decision(locked, "o2", later) == domain.LOCK
    assert domain.lock_decision(locked, "o1", NOW) == domain.ALREADY_DONE
    assert domain.lock_decision(locked, "o1", later) == domain.LOCK  # refreshed
    assert domain.paid_decision(locked, "o2", NOW) == domain.CONFLICT_LOCKED
    assert domain.paid_decision(locked, "o2", later) == domain.REDEEM
    assert domain.paid_decision(locked, "o1", later) == domain.REDEEM


def test_a_lock_taken_before_lock_times_were_recorded_lapses_after_the_default():
    old = coupon(status="locked", order_id="o1", locked_at=at(0))
    assert not domain.lock_lapsed(old, NOW + timedelta(seconds=domain.DEFAULT_LOCK_TTL_SECONDS - 1))
    assert domain.lock_lapsed(old, NOW + timedelta(seconds=domain.DEFAULT_LOCK_TTL_SECONDS))


# ---- the change protocol on fakes -----------------------------------------------------------


@pytest.fixture
def stores():
    return fake_stores()


@pytest.fixture
def faults():
    injected = Faults()
    yield injected
    injected.undo()


def new(stores, **fields) -> str:
    body = TemplateIn(name="t", kind="amount_off", amount_off=500, total_stock=10, stock_shards=4, **fields)
    return templates.create_template("s1", body, stores, actor="m").template_id


def shards(stores, tid):
    return [s for k, s in sorted(stores.stock.items.items()) if k[1] == tid]


def test_a_pause_that_crashed_before_its_shards_is_finished_by_the_next_read(stores, faults):
    tid = new(stores)
    faults.crash_after(stores.templates, "change")
    with pytest.raises(Crash):
        campaign.change_status("s1", tid, "pause", "m", stores)
    faults.undo()
    assert stores.templates.items[("s1", tid)].status == "paused"
    assert [s.halted for s in shards(stores, tid)] == [None] * 4  # the crash left them open
    assert campaign.get_template("s1", tid, stores).status == "paused"
    assert [s.halted for s in shards(stores, tid)] == ["paused"] * 4
    with pytest.raises(Conflict) as refused:
        claims.claim("s1", tid, "u1", stores)
    assert refused.value.code == "paused"


def test_an_older_halt_never_overwrites_a_newer_one(stores):
    tid = new(stores)
    campaign.change_status("s1", tid, "pause", "m", stores)  # v2
    campaign.change_status("s1", tid, "resume", "m", stores)  # v3
    for n in range(4):  # a slow copy of the pause's shard writes arrives late
        stores.stock.halt("s1", tid, n, "paused", 2)
    assert [s.halted for s in shards(stores, tid)] == [None] * 4
    assert claims.claim("s1", tid, "u1", stores).coupon_id


def test_stock_added_by_an_edit_that_crashed_is_added_once_by_the_next_read(stores, faults):
    tid = new(stores)
    faults.crash_after(stores.templates, "change")
    with pytest.raises(Crash):
        campaign.edit("s1", tid, TemplatePatchIn(add_stock=6), "m", stores)
    faults.undo()
    assert sum(s.cap for s in shards(stores, tid)) == 10
    for _ in range(2):  # two readers settle it: added once
        campaign.get_template("s1", tid, stores)
    assert [s.cap for s in shards(stores, tid)] == [4, 4, 4, 4]
    assert stores.templates.items[("s1", tid)].pending_adds == {}
    assert campaign.get_template("s1", tid, stores).total_stock == 16


def test_an_edit_that_lost_the_version_race_is_decided_again(stores):
    tid = new(stores)
    real = stores.templates.change
    raced = {"n": 0}

    def change(shop, seen, sets, entry, pending):
        if raced["n"] == 0:  # another merchant's rename lands first
            raced["n"] += 1
            other = dataclasses.replace(entry, actor="other", changes={"name": {"from": "t", "to": "x"}})
            assert real(shop, seen, {"name": "x"}, other, {})
        return real(shop, seen, sets, entry, pending)

    stores.templates.change = change
    out = campaign.edit("s1", tid, TemplatePatchIn(add_stock=2), "m", stores)
    assert (out.name, out.total_stock, out.version) == ("x", 12, 3)
    assert [c.actor for c in stores.templates.changes[("s1", tid)]] == ["m", "other", "m"]
