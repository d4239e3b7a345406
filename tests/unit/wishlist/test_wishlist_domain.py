"""The wishlist's rules without AWS: quantities never oversell, events are idempotent and
order-independent, refunds give units back rounded down."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.wishlist import domain
from chalicelib.wishlist.domain import Hold, ItemState

NOW = 1_800_000_000


def reserve(state: ItemState, rid: str, q: int, now: int, ttl: int = 1800, by: str = "f") -> ItemState:
    """What the store's conditional write does: release the planned expired holds, take the new one."""
    release = domain.plan_reservation(state, q, now)
    holds = {k: h for k, h in state.holds.items() if k not in release}
    holds[rid] = Hold(quantity=q, expires_at=now + ttl, friend=by)
    return ItemState(quantity=state.quantity, holds=holds, fills=state.fills, version=state.version + 1)


def paid(state, key="o:l", q=1, amount=1000, rid=None, now=NOW, refunds=None):
    after = domain.apply_paid(
        state,
        key,
        line_quantity=q,
        paid_amount=amount,
        reservation_id=rid,
        buyer="b",
        paid_at="t",
        now=now,
        refunds=refunds,
    )
    return state if after is None else after


def refund(state, key="o:l", rid="r-1", amount=1000, q=1, paid_amount=1000):
    after = domain.apply_refund(
        state, key, refund_id=rid, amount=amount, line_quantity=q, paid_amount=paid_amount
    )
    return state if after is None else after


# ---- examples ------------------------------------------------------------------------------------


def test_refunded_units_round_down_and_a_full_refund_returns_everything():
    assert domain.refunded_units(2, 9000, 4500) == 1
    assert domain.refunded_units(2, 9000, 4499) == 0
    assert domain.refunded_units(3, 10000, 9999) == 2
    assert domain.refunded_units(3, 10000, 10000) == 3
    assert domain.refunded_units(3, 10000, 50000) == 3  # never more than the line
    assert domain.refunded_units(2, 0, 0) == 2  # a free line refunded is returned whole


def test_reservation_takes_open_quantity_and_refuses_more():
    state = ItemState(quantity=2)
    state = reserve(state, "a", 2, NOW)
    with pytest.raises(domain.NothingLeft) as refused:
        reserve(state, "b", 1, NOW)
    assert refused.value.open_quantity == 0


def test_expired_holds_free_their_quantity_on_read_and_on_the_next_reservation():
    state = reserve(ItemState(quantity=1), "a", 1, NOW, ttl=60)
    assert state.counts(NOW + 59) == domain.Counts(reserved=1, fulfilled=0, open=0)
    assert state.counts(NOW + 60) == domain.Counts(reserved=0, fulfilled=0, open=1)
    assert domain.plan_reservation(state, 1, NOW + 60) == {"a": 1}
    state = reserve(state, "b", 1, NOW + 60)
    assert set(state.holds) == {"b"} and state.available == 0


def test_payment_consumes_its_own_reservation_even_just_expired():
    state = reserve(ItemState(quantity=1), "a", 1, NOW, ttl=60)
    state = paid(state, rid="a", now=NOW + 61)
    assert state.fulfilled == 1 and state.holds == {} and state.available == 0


def test_payment_without_room_is_recorded_but_counts_nothing():
    state = reserve(ItemState(quantity=1), "a", 1, NOW)
    state = paid(state, key="o2:l", q=1)  # pays without the reservation, nothing is open
    assert state.fulfilled == 0 and state.fills["o2:l"].granted == 0 and state.counts(NOW).reserved == 1


def test_refund_of_ungranted_units_comes_first():
    # Paid 3 but only 2 were open: refunding one unit's worth leaves 2 fulfilled.
    state = paid(ItemState(quantity=2), q=3, amount=3000)
    assert state.fulfilled == 2
    state = refund(state, amount=1000, q=3, paid_amount=3000)
    assert state.fulfilled == 2
    state = refund(state, rid="r-2", amount=1000, q=3, paid_amount=3000)
    assert state.fulfilled == 1


def test_notification_is_due_once_per_counted_payment():
    state = paid(ItemState(quantity=1))
    assert domain.needs_notification(state, "o:l")
    state = domain.mark_notified(state, "o:l")
    assert not domain.needs_notification(state, "o:l") and domain.mark_notified(state, "o:l") is None
    unpaid = refund(ItemState(quantity=1))
    assert not domain.needs_notification(unpaid, "o:l")


# ---- properties ----------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 4), st.integers(1, 120)),
        st.tuples(st.just("pay"), st.integers(0, 3), st.integers(1, 5), st.integers(0, 9000), st.booleans()),
        st.tuples(st.just("refund"), st.integers(0, 3), st.integers(0, 9000), st.integers(0, 2)),
        st.tuples(st.just("cancel"), st.integers(0, 10)),
        st.tuples(st.just("wait"), st.integers(1, 90)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(quantity=st.integers(1, 6), script=ops)
def test_fulfilled_plus_reserved_never_exceeds_wanted(quantity, script):
    state, now, rids, lines = ItemState(quantity=quantity), NOW, [], {}
    for op in script:
        if op[0] == "reserve":
            try:
                state = reserve(state, f"r{len(rids)}", op[1], now, ttl=op[2])
                rids.append(f"r{len(rids)}")
            except domain.NothingLeft:
                # Refused only when it truly does not fit, even after expired holds are freed.
                assert state.counts(now).open < op[1]
        elif op[0] == "pay":
            _, line, q, amount, with_rid = op
            lines[line] = (q, amount)
            rid = rids[-1] if with_rid and rids else None
            state = paid(state, key=f"o{line}:l", q=q, amount=amount, rid=rid, now=now)
        elif op[0] == "refund":
            _, line, amount, rid = op
            q, paid_amount = lines.get(line, (1, 9000))
            state = refund(
                state,
                key=f"o{line}:l",
                rid=f"rf{rid}",
                amount=min(amount, paid_amount),
                q=q,
                paid_amount=paid_amount,
            )
        elif op[0] == "cancel":
            if op[1] < len(rids):
                state = domain.release_hold(state, rids[op[1]]) or state
        else:
            now += op[1]
        # The invariant, counting every stored hold (expired ones included until released).
        assert state.fulfilled + state.held <= quantity
        assert state.available >= 0
        seen = state.counts(now)
        assert seen.reserved + seen.fulfilled + seen.open == quantity


@settings(max_examples=200, deadline=None)
@given(
    q=st.integers(1, 5),
    amount=st.integers(0, 10_000),
    refunded=st.lists(st.integers(0, 10_000), max_size=3),
    quantity=st.integers(1, 6),
)
def test_payment_and_refunds_reach_the_same_state_in_any_order_and_any_number_of_times(
    q, amount, refunded, quantity
):
    refunds = [(f"r{i}", min(a, amount)) for i, a in enumerate(refunded)]

    def run(order):
        state = ItemState(quantity=quantity)
        for step in order:
            if step == "paid":
                state = paid(state, q=q, amount=amount)
            else:
                rid, value = refunds[step]
                state = refund(state, rid=rid, amount=value, q=q, paid_amount=amount)
        return state.fulfilled, state.available

    forward = run(["paid", *range(len(refunds))])
    backward = run([*reversed(range(len(refunds))), "paid"])
    doubled = run(["paid", *range(len(refunds)), "paid", *range(len(refunds))])
    assert forward == backward == doubled
    kept = q - domain.refunded_units(q, amount, sum(v for _, v in refunds))
    assert forward[0] == min(kept, min(q, quantity))


@given(
    q=st.integers(1, 999), paid_amount=st.integers(1, 10**9), a=st.integers(0, 10**9), b=st.integers(0, 10**9)
)
def test_refunded_units_are_monotonic_bounded_and_floored(q, paid_amount, a, b):
    low, high = sorted((a, b))
    assert 0 <= domain.refunded_units(q, paid_amount, low) <= domain.refunded_units(q, paid_amount, high) <= q
    units = domain.refunded_units(q, paid_amount, low)
    share = min(low, paid_amount)
    assert units * paid_amount <= q * share < (units + 1) * paid_amount
