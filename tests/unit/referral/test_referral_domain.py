"""The referral rules without AWS: binding, attribution, funnel counters, conversion, rates."""

from __future__ import annotations

import re
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.dev.apps import load_app

load_app("referral")  # the service folder is the Lambda task root: chalicelib.referral is importable

from chalicelib.referral import domain  # noqa: E402
from chalicelib.referral.domain import (  # noqa: E402  # noqa: E402
    Buyer,
    CodeOwner,
    Counters,
    PaidOrder,
    Program,
    SignupRefused,
    counters,
    rewards,
)

NOW = "2026-11-20T00:00:00Z"
SIGNED_UP = "2026-11-01T00:00:00Z"  # before the orders of these tests (an earlier order voids)
ALICE = CodeOwner(shop="s1", code="alicecode0", kind="customer", owner_id="alice")
POSTER = CodeOwner(shop="s1", code="postercode", kind="channel", owner_id="ch1", name="poster")
PROGRAM = Program(referrer_template_id="t-r", referee_template_id="t-e", min_order_amount=5000)


def _bound(customer: str = "bob", owner: CodeOwner = ALICE) -> Buyer:
    return domain.bind(Buyer(customer_id=customer), owner, SIGNED_UP)


def _paid(buyer, order_id, amount, *, at="2026-11-11T00:00:00Z", code_owner=None, program=PROGRAM, granted=0):
    order = PaidOrder(order_id=order_id, total_paid=amount, occurred_at=at)
    return domain.apply_paid(
        "s1", buyer, order, code_owner=code_owner, program=program, referrer_rewards_granted=granted, now=NOW
    )


# ---- signups -----------------------------------------------------------------------------


def test_signup_binds_and_counts_once():
    outcome = domain.signup(Buyer(customer_id="bob"), ALICE, NOW)
    assert outcome.after.bound_code == "alicecode0" and outcome.after.attributed_code == "alicecode0"
    assert outcome.after.referrer_kind == "customer" and outcome.after.referrer_id == "alice"
    assert outcome.deltas == {"alicecode0": Counters(signups=1)}
    assert outcome.credit_referrer == "alice" and outcome.referrer_increments == {"referred_count": 1}
    channel = domain.signup(Buyer(customer_id="bob"), POSTER, NOW)
    assert channel.credit_referrer is None and channel.referrer_increments == {}


@pytest.mark.parametrize(
    ("buyer", "owner", "reason"),
    [
        (Buyer(customer_id="alice"), ALICE, "self_referral"),
        (_bound("bob", POSTER), ALICE, "already_referred"),
        (_bound("bob", ALICE), ALICE, "already_referred"),
        (
            Buyer(customer_id="bob", orders={"o1": domain.OrderTally(paid_amount=1)}),
            ALICE,
            "not_new_customer",
        ),
        # a refund of an order we never saw paid still means the customer has paid
        (
            Buyer(customer_id="bob", orders={"o1": domain.OrderTally(refunds={"r": 1})}),
            POSTER,
            "not_new_customer",
        ),
    ],
)
def test_signup_refusals(buyer, owner, reason):
    with pytest.raises(SignupRefused) as refused:
        domain.signup(buyer, owner, NOW)
    assert refused.value.reason == reason and refused.value.code == reason and refused.value.status == 409


# ---- orders ------------------------------------------------------------------------------


def test_first_qualifying_order_converts_once_with_both_rewards():
    small = _paid(_bound(), "o1", 4999)
    assert small.rewards == () and small.after.converted_at is None
    converting = _paid(small.after, "o2", 5000)
    assert converting.after.conversion_order_id == "o2"
    assert [(r.side, r.customer_id, r.template_id, r.status) for r in converting.rewards] == [
        ("referee", "bob", "t-e", "pending"),
        ("referrer", "alice", "t-r", "pending"),
    ]
    assert converting.deltas["alicecode0"].conversions == 1
    assert converting.referrer_increments == {"converted_count": 1, "rewards_granted": 1}
    again = _paid(converting.after, "o2", 5000)
    assert not again.changed and again.rewards == () and again.deltas == {}
    later = _paid(converting.after, "o3", 9000)
    assert later.rewards == () and "conversions" not in later.deltas["alicecode0"].nonzero()


def test_cap_reached_records_a_capped_referrer_reward():
    capped = Program(referrer_template_id="t-r", referee_template_id="t-e", max_rewards_per_referrer=2)
    outcome = _paid(_bound(), "o1", 1, program=capped, granted=2)
    referrer = [r for r in outcome.rewards if r.side == "referrer"][0]
    assert referrer.status == "capped" and referrer.reason == "max_rewards_per_referrer reached"
    assert outcome.referrer_increments == {"converted_count": 1}
    below = _paid(_bound(), "o1", 1, program=capped, granted=1)
    assert below.referrer_increments == {"converted_count": 1, "rewards_granted": 1}
    assert below.referrer_reward_cap == 2


def test_channel_conversion_rewards_only_the_referee_and_no_program_means_no_conversion():
    outcome = _paid(_bound("bob", POSTER), "o1", 9000)
    assert [r.side for r in outcome.rewards] == ["referee"] and outcome.credit_referrer is None
    assert _paid(_bound(), "o1", 9000, program=None).after.converted_at is None


def test_grant_ids_are_deterministic_valid_ids_per_side():
    a = domain.grant_id("s1", "bob", "referee")
    assert a == domain.grant_id("s1", "bob", "referee")
    assert a != domain.grant_id("s1", "bob", "referrer") != domain.grant_id("s2", "bob", "referrer")
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", a)


def test_order_code_attribution():
    fresh = _paid(Buyer(customer_id="q"), "o1", 300, code_owner=POSTER)
    assert fresh.after.attributed_code == "postercode"
    assert fresh.deltas == {"postercode": Counters(first_orders=1, gmv_amount=300)}
    own = _paid(Buyer(customer_id="alice"), "o1", 300, code_owner=ALICE)
    assert own.after.attributed_code is None and own.deltas == {}
    existing = _paid(Buyer(customer_id="q"), "o0", 100, at="2026-01-01T00:00:00Z").after
    later = _paid(existing, "o1", 300, code_owner=POSTER, at="2026-02-01T00:00:00Z")
    assert later.after.attributed_code is None
    earlier = _paid(existing, "o1", 300, code_owner=POSTER, at="2025-12-31T23:59:59Z")
    assert earlier.after.attributed_code == "postercode"
    assert earlier.deltas == {"postercode": Counters(first_orders=1, repeat_customers=1, gmv_amount=400)}


@pytest.mark.parametrize(
    ("repeat", "first", "bps"),
    [(0, 0, 0), (0, 3, 0), (1, 2, 5000), (1, 3, 3333), (2, 3, 6666), (3, 3, 10000)],
)
def test_repurchase_rate_is_floored_basis_points(repeat, first, bps):
    assert counters.repurchase_rate_bps(repeat, first) == bps


@given(first=st.integers(min_value=0, max_value=10**9), data=st.data())
def test_repurchase_rate_property(first, data):
    repeat = data.draw(st.integers(min_value=0, max_value=first))
    rate = counters.repurchase_rate_bps(repeat, first)
    assert 0 <= rate <= 10_000
    if first:
        assert rate * first <= repeat * 10_000 < (rate + 1) * first
    else:
        assert rate == 0


# ---- any order of events gives the same counters --------------------------------------------

ORDERS = ["o1", "o2", "o3"]
_event = st.one_of(
    st.tuples(st.just("paid"), st.sampled_from(ORDERS), st.integers(0, 10_000)),
    st.tuples(
        st.just("refund"), st.sampled_from(ORDERS), st.sampled_from(["r1", "r2"]), st.integers(0, 10_000)
    ),
)


def _unique_events(events):
    """One payment per order and one amount per refund id, as a real storefront sends them."""
    seen: dict[tuple, tuple] = {}
    for event in events:
        key = event[:2] if event[0] == "paid" else event[:3]
        seen.setdefault(key, event)
    return [seen[e[:2] if e[0] == "paid" else e[:3]] for e in events]


def _run(buyer, events):
    total: dict[str, Counters] = {}
    rewards = []
    for event in events:
        if event[0] == "paid":
            _, order_id, amount = event
            outcome = _paid(buyer, order_id, amount, at=f"2026-11-1{ORDERS.index(order_id)}T00:00:00Z")
        else:
            _, order_id, refund_id, amount = event
            outcome = domain.apply_refund(buyer, order_id, refund_id, amount)
        for code, delta in outcome.deltas.items():
            total[code] = total.get(code, Counters()) + delta
        rewards.extend(outcome.rewards)
        buyer = outcome.after
    return buyer, total, rewards


@settings(max_examples=200, deadline=None)
@given(events=st.lists(_event, max_size=12), data=st.data())
def test_counters_equal_the_final_contribution_in_any_order_with_duplicates(events, data):
    events = _unique_events(events)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=6)) if events else []
    shuffled = data.draw(st.permutations(events + duplicates))
    final, total, rewards = _run(_bound(), shuffled)
    in_order, total_in_order, _ = _run(_bound(), events)
    # the same final funnel, whatever the order and however many duplicates
    assert domain.contribution(final) == domain.contribution(in_order)
    code, expected = domain.contribution(final)
    summed = total.get("alicecode0", Counters())
    assert summed.first_orders == expected.first_orders
    assert summed.repeat_customers == expected.repeat_customers
    assert summed.gmv_amount == expected.gmv_amount
    assert summed.signups == 0
    # GMV: every paid order's amount less its refunds, never below zero per order
    paid = {e[1]: e[2] for e in events if e[0] == "paid"}
    refunds: dict[str, int] = {}
    for e in {e[:3]: e for e in events if e[0] == "refund"}.values():
        refunds[e[1]] = refunds.get(e[1], 0) + e[3]
    assert expected.gmv_amount == sum(max(0, amount - refunds.get(o, 0)) for o, amount in paid.items())
    # converted at most once, exactly when some paid order reached the minimum
    qualifies = any(amount >= PROGRAM.min_order_amount for amount in paid.values())
    assert summed.conversions == int(qualifies)
    assert len(rewards) == (2 if qualifies else 0)


def test_counters_add_and_subtract():
    a = Counters(signups=1, gmv_amount=500)
    b = Counters(first_orders=1, gmv_amount=-200)
    assert (a + b).nonzero() == {"signups": 1, "first_orders": 1, "gmv_amount": 300}
    assert (a - a).nonzero() == {}
    assert reduce(Counters.__add__, [a, a, a]).signups == 3
    assert Counters.from_mapping({"signups": 2, "pk": "x"}) == Counters(signups=2)


def test_code_url_and_normalisation():
    assert domain.code_url("http://h:8000/", "s1", "abc") == "http://h:8000/referral/r/s1/abc"
    assert domain.code_url("http://h", "a b/c", "abc") == "http://h/referral/r/a%20b%2Fc/abc"
    assert domain.normalize_code("  AbC123 ") == "abc123"


def test_report_row_sums_visit_shards_and_computes_the_rate():
    totals = Counters(signups=2, first_orders=3, repeat_customers=1, gmv_amount=900, refused_self_referral=1)
    row = counters.report_row(POSTER, totals, [{"visits": 5, "unique_visitors": 2}, {"visits": 1}])
    assert row["visits"] == 6 and row["unique_visitors"] == 2
    assert row["repurchase_rate_bps"] == 3333
    assert row["channel_id"] == "ch1" and row["channel_name"] == "poster" and row["customer_id"] is None
    assert row["refusals"] == {
        "self_referral": 1,
        "already_referred": 0,
        "not_new_customer": 0,
        "mutual_referral": 0,
    }


# ---- mutual referrals, voided signups, rewards taken back -------------------------------------

BOB = CodeOwner(shop="s1", code="bobcode000", kind="customer", owner_id="bob")


def test_a_customer_cannot_sign_up_with_the_code_of_someone_they_referred():
    with pytest.raises(SignupRefused) as refused:
        domain.signup(Buyer(customer_id="alice"), BOB, NOW, owner_referred_by="alice")
    assert refused.value.reason == "mutual_referral" and refused.value.status == 409
    # someone else referred bob: alice may use his code; the write guards bob's binding
    outcome = domain.signup(Buyer(customer_id="alice"), BOB, NOW, owner_referred_by="carol")
    assert outcome.after.bound_code == "bobcode000" and outcome.not_referred_by == ("bob", "alice")
    assert domain.signup(Buyer(customer_id="alice"), POSTER, NOW).not_referred_by is None


def test_an_order_placed_before_the_signup_voids_it_and_nothing_converts_after():
    bound = _bound()
    early = _paid(bound, "o0", 9000, at="2026-10-31T23:59:59Z")  # before SIGNED_UP, seen after
    after = early.after
    assert after.bound_code is None and after.referrer_id is None and after.attributed_code is None
    assert after.voided is not None and (after.voided.code, after.voided.order_id) == ("alicecode0", "o0")
    assert early.rewards == () and after.converted_at is None
    assert early.deltas == {"alicecode0": Counters(signups=-1, refused_not_new_customer=1)}
    assert early.credit_referrer == "alice" and early.referrer_increments == {"referred_count": -1}
    assert rewards_of(after) is None
    # a qualifying order afterwards converts nothing; a new signup is refused; redelivery is a no-op
    later = _paid(after, "o1", 9000)
    assert later.rewards == () and later.after.converted_at is None and later.deltas == {}
    assert not _paid(later.after, "o0", 9000, at="2026-10-31T23:59:59Z").changed
    with pytest.raises(SignupRefused) as refused:
        domain.signup(Buyer(customer_id="bob", voided=after.voided), ALICE, NOW)
    assert refused.value.reason == "not_new_customer"


def test_an_order_at_the_signup_second_or_later_does_not_void():
    assert _paid(_bound(), "o1", 9000, at=SIGNED_UP).after.bound_code == "alicecode0"


def test_voiding_after_the_conversion_undoes_it_and_takes_the_rewards_back():
    converted = _paid(_bound(), "o2", 9000, at="2026-11-05T00:00:00Z").after
    assert converted.conversion_order_id == "o2"
    voiding = _paid(converted, "o1", 300, at="2026-10-30T00:00:00Z", code_owner=POSTER)
    after = voiding.after
    # attributed to the earlier order's code, as a customer who never signed up
    assert after.attributed_code == "postercode" and after.bound_code is None
    assert voiding.deltas == {
        "alicecode0": Counters(
            signups=-1, refused_not_new_customer=1, conversions=-1, first_orders=-1, gmv_amount=-9000
        ),
        "postercode": Counters(first_orders=1, repeat_customers=1, gmv_amount=9300),
    }
    assert voiding.referrer_increments == {"referred_count": -1, "converted_count": -1}
    assert rewards_of(after) == "not_new_customer"
    assert rewards.reward_holders("s1", after) == [
        ("bob", domain.grant_id("s1", "bob", "referee")),
        ("alice", domain.grant_id("s1", "bob", "referrer")),
    ]


def test_held_rewards_wait_out_the_refund_window_from_the_payment():
    held = Program(referrer_template_id="t-r", referee_template_id="t-e", reward_hold_days=7)
    outcome = _paid(_bound(), "o1", 100, program=held, at="2026-11-11T08:30:00Z")
    assert [(r.side, r.status, r.release_at) for r in outcome.rewards] == [
        ("referee", "held", "2026-11-18T08:30:00Z"),
        ("referrer", "held", "2026-11-18T08:30:00Z"),
    ]
    # a payment time in the future counts as now
    future = _paid(_bound(), "o1", 100, program=held, at="2027-01-01T00:00:00Z")
    assert {r.release_at for r in future.rewards} == {"2026-11-27T00:00:00Z"}
    capped = Program(
        referrer_template_id="t-r", referee_template_id="t-e", reward_hold_days=7, max_rewards_per_referrer=1
    )
    statuses = [(r.side, r.status) for r in _paid(_bound(), "o1", 100, program=capped, granted=1).rewards]
    assert statuses == [("referee", "held"), ("referrer", "capped")]


def test_only_a_full_refund_of_the_converting_order_takes_rewards_back():
    converted = _paid(_bound(), "o1", 5000).after
    other = _paid(converted, "o2", 7000).after
    partial = domain.apply_refund(other, "o1", "r1", 4999).after
    assert rewards_of(partial) is None
    assert rewards_of(domain.apply_refund(other, "o2", "r1", 7000).after) is None  # another order
    full = domain.apply_refund(partial, "o1", "r2", 1).after
    assert rewards_of(full) == "converting_order_refunded"
    assert not domain.apply_refund(full, "o1", "r2", 1).changed  # redelivered: same state


def test_a_refund_seen_before_its_payment_cancels_the_rewards_from_the_start():
    refunded_first = domain.apply_refund(_bound(), "o1", "r1", 6000).after
    outcome = _paid(refunded_first, "o1", 6000)
    assert outcome.after.converted_at is not None
    assert [(r.status, r.reason) for r in outcome.rewards] == [("cancelled", "converting_order_refunded")] * 2


@pytest.mark.parametrize(
    ("limit", "cap", "refused"), [(1, None, False), (1, 1, False), (5, 3, False), (1, 2, True), (4, 5, True)]
)
def test_the_referrer_template_must_allow_the_cap(limit, cap, refused):
    problem = rewards.limit_problem(limit, cap)
    assert (problem is not None) is refused
    if refused:
        assert str(limit) in problem and str(cap) in problem


def rewards_of(buyer):
    return rewards.withdraw_reason(buyer)
