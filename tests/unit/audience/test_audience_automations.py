"""Automation rules without AWS: deterministic arms, the lift counters exact against a
brute-force recomputation whatever the order of the messages, and Welch's interval."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import replace

import pytest

from infrastructure.dev.apps import load_app

load_app("audience")

from chalicelib.audience import consumer  # noqa: E402
from chalicelib.audience.domain import automations as rules  # noqa: E402
from chalicelib.audience.store.records import StoredProfile  # noqa: E402
from chalicelib.audience.usecases import profiles  # noqa: E402
from tests.unit.audience.fakes import FakeDb  # noqa: E402

SHOP = "s1"


def test_arms_are_deterministic_and_near_the_control_share():
    customers = [f"c-{i}" for i in range(20_000)]
    first = [rules.arm("r-1", c, 10) for c in customers]
    assert first == [rules.arm("r-1", c, 10) for c in customers]
    share = first.count("control") / len(customers)
    assert 0.09 < share < 0.11
    assert all(rules.arm("r-1", c, 0) == "treatment" for c in customers[:500])
    assert rules.grant_id("r-1", "1", "c-1") != rules.grant_id("r-1", "1", "c-2")
    assert rules.parse_grant_id(rules.grant_id("r-1", "1700000000", "c-1")) == ("r-1", "1700000000")


def test_welch_interval_matches_a_direct_computation():
    rng = random.Random(3)
    t = [rng.choice([0, 0, 5000, 12000]) for _ in range(400)]
    c = [rng.choice([0, 0, 0, 5000, 9000]) for _ in range(300)]

    def arm(values):
        return rules.Arm(len(values), sum(1 for v in values if v), sum(values), sum(v * v for v in values), 0)

    result = rules.lift(arm(t), arm(c))
    d = statistics.mean(t) - statistics.mean(c)
    se = math.sqrt(statistics.variance(t) / len(t) + statistics.variance(c) / len(c))
    assert result.incremental_gmv_per_customer == pytest.approx(d, abs=0.01)
    assert result.ci_low == pytest.approx(d - 1.959964 * se, abs=0.01)
    assert result.ci_high == pytest.approx(d + 1.959964 * se, abs=0.01)
    expected = "significant_gain" if d - 1.959964 * se > 0 else "not_significant_yet"
    assert result.verdict == expected
    small = rules.lift(arm(t[:10]), arm(c[:10]))
    assert small.verdict == "not_significant_yet" and small.ci_low is None


def _paid(n: int, customer: str, day: int, amount: int) -> dict:
    line = {"line_id": "l", "product_id": "p", "quantity": 1, "unit_amount": amount, "paid_amount": amount}
    return {
        "type": "order.paid",
        "event_id": f"e-{n}",
        "order_id": f"o-{n}",
        "customer_id": customer,
        "shop": SHOP,
        "occurred_at": f"2026-03-{day:02d}T10:00:00Z",
        "lines": [line],
    }


@pytest.mark.parametrize("seed", range(4))
def test_lift_counters_equal_a_brute_force_recomputation_in_any_order(seed):
    rng = random.Random(seed)
    spec = rules.AudienceRuleSpec.model_validate(
        {"trigger": {"type": "first_order"}, "template_id": "t", "control_percent": 30}
    )
    db = FakeDb()
    stores = db.stores()
    messages, enrolled = [], {}
    for i in range(30):
        customer = f"c-{i}"
        enrolled_at = 1772359200 + i  # 2026-03-01T10:00:00Z + i s
        enrolled[customer] = rules.enroll("r-1", spec, customer, "1", enrolled_at)
        for k in range(rng.randint(0, 3)):
            messages.append(_paid(i * 10 + k, customer, rng.randint(2, 28), rng.choice([1000, 2500])))
            if rng.random() < 0.5:
                messages.append(
                    {
                        "type": "coupon.redeemed",
                        "event_id": f"r-{i}-{k}",
                        "shop": SHOP,
                        "customer_id": customer,
                        "order_id": f"o-{i * 10 + k}",
                        "coupon_id": f"cp-{i}-{k}",
                        "template_id": "t",
                        "grant_id": rules.grant_id("r-1", "1", customer),
                        "discount_amount": 300,
                        "occurred_at": "2026-03-02T00:00:00Z",
                    }
                )
    # Enrollment is a message of its own here, delivered among the orders, twice.
    events = messages + [("enroll", c) for c in enrolled] * 2
    rng.shuffle(events)
    for m in events:
        if isinstance(m, tuple):
            e = enrolled[m[1]]

            def add(stored: StoredProfile, e=e) -> StoredProfile | None:
                if e.key in stored.enrollments:
                    return None
                return replace(stored, enrollments={**stored.enrollments, e.key: e})

            profiles.apply_profile(SHOP, m[1], add, stores)
        else:
            consumer.handle(m, stores)
    got = {"treatment": {}, "control": {}}
    for side, sums in stores.counters.read_lift(SHOP, "r-1", "2026-03-01", "2026-03-01"):
        for f, v in sums.items():
            got[side][f] = got[side].get(f, 0) + v
    expected = {
        "treatment": dict.fromkeys(rules.LIFT_FIELDS, 0),
        "control": dict.fromkeys(rules.LIFT_FIELDS, 0),
    }
    paid = {m["order_id"]: m for m in messages if m["type"] == "order.paid"}
    redeemed = {m["order_id"] for m in messages if m["type"] == "coupon.redeemed"}
    for customer, e in enrolled.items():
        mine = [m for m in paid.values() if m["customer_id"] == customer]
        gmv = sum(m["lines"][0]["paid_amount"] for m in mine)
        row = expected[e.arm]
        row["n"] += 1
        row["repurchasers"] += 1 if mine else 0
        row["gmv"] += gmv
        row["gmv_sq"] += gmv * gmv
        row["cost"] += 300 * sum(1 for m in mine if m["order_id"] in redeemed)
    assert {k: {f: v for f, v in d.items() if v} for k, d in got.items()} == {
        k: {f: v for f, v in d.items() if v} for k, d in expected.items()
    }
