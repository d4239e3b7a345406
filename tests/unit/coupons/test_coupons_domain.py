"""The coupon rules without AWS: discount math, lucky packs, stock shards, windows, jobs."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_shared.errors import Conflict
from infrastructure.dev.apps import load_app

load_app("coupons")  # puts the service's folder where Lambda would (its task root)

from chalicelib.coupons import domain  # noqa: E402
from chalicelib.coupons.store.records import Coupon, Job, Template  # noqa: E402

NOW = datetime(2026, 11, 11, 0, 0, 0, tzinfo=UTC)

lines_strategy = st.lists(
    st.builds(
        domain.Line,
        product_id=st.sampled_from(["p-1", "p-2", "p-3"]),
        quantity=st.integers(1, 1000),
        unit_amount=st.integers(0, 10**9),
    ),
    min_size=1,
    max_size=20,
)

coupon_strategy = st.one_of(
    st.builds(
        lambda amount, spend: {"kind": "amount_off", "amount_off": amount, "min_spend_amount": spend},
        st.integers(1, 10**12),
        st.integers(0, 10**9),
    ),
    st.builds(
        lambda pct, cap, spend: {
            "kind": "percent_off",
            "percent_off": pct,
            "max_discount_amount": cap,
            "min_spend_amount": spend,
        },
        st.integers(1, 99),
        st.one_of(st.none(), st.integers(1, 10**12)),
        st.integers(0, 10**9),
    ),
)


def coupon(**fields):
    base = {"coupon_id": "cp-1", "status": "available", "kind": "amount_off", "amount_off": 1000}
    return Coupon.from_item({**base, "min_spend_amount": 0, **fields})


def terms(fields):
    """A coupon with these discount terms (the rules read records)."""
    return Coupon.from_item({"coupon_id": "cp-1", **fields})


def template(fields):
    """A template with these terms (the rules read records)."""
    return Template.from_item({"template_id": "tpl-1", "kind": "amount_off", **fields})


def job(fields):
    """A job as stored (the rules read records)."""
    return Job.from_item(fields)


# ---- discount math -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    coupon_strategy,
    lines_strategy,
    st.one_of(st.none(), st.lists(st.sampled_from(["p-1", "p-2"]), min_size=1)),
)
def test_discount_is_never_negative_nor_more_than_the_in_scope_subtotal(terms, lines, scope):
    result = domain.evaluate(coupon(**terms), scope, lines, NOW)
    subtotal, _ = domain.in_scope_subtotal(lines, scope)
    assert result.eligible_subtotal_amount == subtotal
    assert 0 <= result.discount_amount <= subtotal
    if result.valid:
        assert subtotal >= terms["min_spend_amount"]
    else:
        assert result.discount_amount == 0 and result.reason in ("out_of_scope", "below_min_spend")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**12), st.integers(1, 99), st.one_of(st.none(), st.integers(1, 10**12)))
def test_percent_off_is_floored_then_capped(subtotal, pct, cap):
    amount = domain.discount_for(
        terms({"kind": "percent_off", "percent_off": pct, "max_discount_amount": cap}), subtotal
    )
    exact = subtotal * pct // 100
    assert amount == (exact if cap is None else min(exact, cap))
    assert amount * 100 <= subtotal * pct < (amount + 1) * 100 or (cap is not None and amount == cap)


def test_discount_examples():
    assert (
        domain.discount_for(terms({"kind": "percent_off", "percent_off": 15}), 999) == 149
    )  # 149.85 rounds down
    assert domain.discount_for(terms({"kind": "percent_off", "percent_off": 33}), 1) == 0
    assert domain.discount_for(terms({"kind": "amount_off", "amount_off": 1000}), 400) == 400
    assert domain.discount_for(terms({"kind": "lucky", "amount_off": 7}), 400) == 7
    assert domain.discount_for(terms({"kind": "amount_off", "amount_off": 1000}), 0) == 0


def test_reasons_in_order_of_precedence():
    cart = [domain.Line("p-1", 2, 3000)]
    assert domain.evaluate(coupon(min_spend_amount=6000), None, cart, NOW).valid
    assert domain.evaluate(coupon(min_spend_amount=6001), None, cart, NOW).reason == "below_min_spend"
    assert domain.evaluate(coupon(), ["p-2"], cart, NOW).reason == "out_of_scope"
    expired = coupon(expires_at="2026-11-10T00:00:00Z")
    assert domain.evaluate(expired, ["p-2"], cart, NOW).reason == "expired"
    for status in ("redeemed", "locked"):
        assert domain.evaluate(coupon(status=status), None, cart, NOW).reason == "not_available"
    assert domain.evaluate(coupon(status="expired"), None, cart, NOW).reason == "expired"
    locked = coupon(status="locked", order_id="o-1")
    assert domain.evaluate(locked, None, cart, NOW, order_id="o-1").valid
    assert domain.evaluate(locked, None, cart, NOW, order_id="o-2").reason == "not_available"


# ---- lucky packs ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2000), st.integers(0, 10**12), st.integers(0, 2**32))
def test_lucky_amounts_are_at_least_one_and_add_up_exactly(count, extra, seed):
    total = count + extra
    amounts = domain.split_lucky(total, count, random.Random(seed))
    assert len(amounts) == count
    assert sum(amounts) == total
    assert min(amounts) >= 1


def test_lucky_split_of_a_large_pack_and_its_chunks():
    amounts = domain.split_lucky(100_000_000, 100_000)
    assert sum(amounts) == 100_000_000 and min(amounts) >= 1
    chunks = domain.lucky_chunks(amounts)
    assert [len(c) for c in chunks] == [1000] * 100
    chunk, offset = domain.lucky_position(54_321)
    assert chunks[chunk][offset] == amounts[54_321]


def test_lucky_split_refuses_impossible_packs():
    with pytest.raises(ValueError):
        domain.split_lucky(4, 5)
    with pytest.raises(ValueError):
        domain.split_lucky(10, 0)
    assert domain.split_lucky(5, 5) == [1, 1, 1, 1, 1]


# ---- stock shards --------------------------------------------------------------------------


@given(st.integers(1, 10**7), st.integers(1, 100))
def test_shards_hold_the_whole_stock_evenly(total, shards):
    caps = domain.shard_caps(total, shards)
    assert sum(caps) == total
    assert len(caps) == min(total, shards) and min(caps) >= 1
    assert max(caps) - min(caps) <= 1
    starts = domain.shard_starts(caps)
    assert starts[0] == 0 and all(starts[i + 1] == starts[i] + caps[i] for i in range(len(caps) - 1))


# ---- windows, expiry, jobs -----------------------------------------------------------------


def test_claim_window_and_coupon_expiry():
    window = template({"valid_from": "2026-11-11T00:00:00Z", "valid_until": "2026-11-12T00:00:00Z"})
    assert domain.window_state(window, NOW - timedelta(seconds=1)) == "scheduled"
    assert domain.window_state(window, NOW) == "active"
    assert domain.window_state(window, NOW + timedelta(days=1)) == "ended"
    with pytest.raises(Conflict) as caught:
        domain.require_active(window, NOW + timedelta(days=1))
    assert caught.value.code == "not_active"
    assert domain.coupon_expiry(window, NOW) == NOW + timedelta(days=1)
    assert domain.coupon_expiry(replace(window, valid_days=3), NOW) == NOW + timedelta(days=3)
    assert domain.coupon_expiry(template({}), NOW) is None


def test_visible_status_and_release():
    fresh = coupon(expires_at="2026-11-12T00:00:00Z")
    assert domain.visible_status(fresh, NOW) == "available"
    assert domain.visible_status(fresh, NOW + timedelta(days=1)) == "expired"
    assert domain.visible_status(replace(fresh, status="locked"), NOW + timedelta(days=1)) == "locked"
    assert domain.status_after_release(fresh, NOW) == "available"
    assert domain.status_after_release(fresh, NOW + timedelta(days=2)) == "expired"


def test_bulk_chunks_drop_duplicates_and_keep_order():
    chunks, duplicates = domain.chunk_customers(["a", "b", "a", "c", "d", "b", "e"], 2)
    assert chunks == [["a", "b"], ["c", "d"], ["e"]] and duplicates == ["a", "b"]
    assert domain.job_status(job({"chunk_total": 3})) == "queued"
    assert domain.job_status(job({"chunk_total": 3, "started": True})) == "running"
    assert domain.job_status(job({"chunk_total": 3, "done_chunks": {"0", "1", "2"}})) == "done"


def test_an_outcome_counts_by_reason_and_keeps_a_bounded_sample():
    outcome = domain.Outcome()
    outcome.skip(domain.SKIPPED_SOLD_OUT, [f"c{i}" for i in range(25)])
    outcome.skip(domain.SKIPPED_SOLD_OUT, ["late"])
    outcome.skip(domain.SKIPPED_LIMIT, ["x"])
    outcome.skip(domain.SKIPPED_LIMIT, [])
    outcome.fail(domain.FAILED_NOT_ACTIVE, ["y", "z"])
    assert outcome.as_record() == {
        "skipped_by": {"sold_out": 26, "per_customer_limit_reached": 1},
        "failed_by": {"not_active": 2},
        "samples": {
            "sold_out": [f"c{i}" for i in range(10)],
            "per_customer_limit_reached": ["x"],
            "not_active": ["y", "z"],
        },
    }
    with pytest.raises(ValueError):
        outcome.skip(domain.FAILED_DEAD_LETTERED, ["a"])
    with pytest.raises(ValueError):
        outcome.fail(domain.SKIPPED_SOLD_OUT, ["a"])


def test_a_job_view_shows_codes_with_a_count_and_at_most_ten_ids_each():
    stored = {
        "chunk_total": 2,
        "done_chunks": {"0", "1"},
        "dead_chunks": {"1"},
        "skipped:sold_out": 3,
        "skipped:duplicate": 0,
        "failed:dead_lettered": 500,
        "sample:dead_lettered": [f"d{i}" for i in range(12)],
        "sample:duplicate": ["gone"],
        "sample:sold_out": ["s1", "s2", "s3"],
    }
    view = domain.job_view(job(stored))
    assert view["status"] == "done" and view["dead_lettered_chunks"] == [1]
    assert view["skipped_by_reason"] == {"sold_out": 3}
    assert view["failed_by_reason"] == {"dead_lettered": 500}
    assert view["samples"] == {"sold_out": ["s1", "s2", "s3"], "dead_lettered": [f"d{i}" for i in range(10)]}


@pytest.mark.parametrize(
    ("status", "holder", "expires", "decision"),
    [
        ("available", None, None, "redeem"),
        ("locked", "o-1", None, "redeem"),
        ("redeemed", "o-1", None, "done"),
        ("redeemed", "o-2", None, "already_redeemed"),
        ("locked", "o-2", None, "locked_to_another_order"),
        ("locked", "o-2", "2026-11-10T00:00:00Z", "locked_to_another_order"),
        ("available", None, "2026-11-10T00:00:00Z", "expired"),
        ("locked", "o-1", "2026-11-10T00:00:00Z", "expired"),
        ("expired", None, None, "expired"),
        ("available", None, "2026-11-12T00:00:00Z", "redeem"),
    ],
)
def test_a_payment_redeems_only_an_available_coupon_or_one_locked_to_its_order(
    status, holder, expires, decision
):
    held = terms({"status": status, "order_id": holder, "expires_at": expires})
    assert domain.paid_decision(held, "o-1", NOW) == decision
