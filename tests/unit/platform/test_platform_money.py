from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_shared.money import apply_bps, proportional, split_proportional


def test_apply_bps_floors():
    assert apply_bps(9000, 1000) == 900
    assert apply_bps(999, 150) == 14  # 14.985 -> 14 (floor)
    assert apply_bps(1, 9999) == 0


def test_apply_bps_rejects_negative():
    with pytest.raises(ValueError):
        apply_bps(-1, 100)


@given(st.integers(0, 10**10), st.integers(0, 10_000))
def test_apply_bps_never_exceeds_exact_share(amount, bps):
    got = apply_bps(amount, bps)
    assert got * 10_000 <= amount * bps < (got + 1) * 10_000


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_split_adds_up_exactly(total, weights):
    parts = split_proportional(total, weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
    else:
        assert sum(parts) == total
        for part, weight in zip(parts, weights, strict=True):
            exact = total * weight / sum(weights)
            assert abs(part - exact) < 1


@given(st.integers(0, 10**9), st.integers(1, 10**6), st.data())
def test_proportional_is_floor(total, whole, data):
    part = data.draw(st.integers(0, whole))
    assert proportional(total, part, whole) == total * part // whole
    assert proportional(total, whole, whole) == total
