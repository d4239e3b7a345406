"""Profiles and repurchase counters on in-memory fakes (no moto): randomized histories of
orders, payments, cancellations, partial refunds and coupon redemptions, delivered duplicated
and shuffled (and with crashes and lost answers), give the profiles and the report a
brute-force recomputation from the distinct messages gives."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infrastructure.dev.apps import load_app

load_app("audience")  # the service folder is the Lambda task root: chalicelib.audience is importable

from campaign_shared.errors import InvalidRequest  # noqa: E402
from chalicelib.audience import consumer  # noqa: E402
from chalicelib.audience.models import AudienceReportQuery  # noqa: E402
from chalicelib.audience.usecases import profiles, reports  # noqa: E402
from tests.unit.audience.fakes import Crash, FakeDb, LostAnswer  # noqa: E402

SHOP = "s1"
START = datetime(2026, 1, 1, tzinfo=UTC)
DIMENSIONS = ("channel", "referral_code", "distributor", "first_coupon_template", "first_order_month")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def history(rng: random.Random, customers: int = 12) -> list[dict[str, Any]]:
    """Distinct messages of a random shop history."""
    messages: list[dict[str, Any]] = []
    for c in range(customers):
        customer = f"c-{c}"
        for n in range(rng.randint(1, 5)):
            order = f"o-{c}-{n}"
            at = START + timedelta(days=rng.randint(0, 200), seconds=rng.randint(0, 86_399))
            lines = [
                {
                    "line_id": "l-1",
                    "product_id": "p-1",
                    "quantity": 1,
                    "unit_amount": 9000,
                    "paid_amount": 9000,
                },
                {
                    "line_id": "l-2",
                    "product_id": "p-2",
                    "quantity": 2,
                    "unit_amount": 1000,
                    "paid_amount": 1500,
                },
            ]
            base = {"order_id": order, "customer_id": customer, "shop": SHOP, "lines": lines}
            if rng.random() < 0.15:  # cancelled before payment; sometimes a paid arrives as well
                messages.append(
                    {**base, "type": "order.cancelled", "event_id": f"x-{order}", "occurred_at": _iso(at)}
                )
                if rng.random() < 0.5:
                    messages.append(
                        {**base, "type": "order.paid", "event_id": f"p-{order}", "occurred_at": _iso(at)}
                    )
                continue
            paid = {**base, "type": "order.paid", "event_id": f"p-{order}", "occurred_at": _iso(at)}
            if rng.random() < 0.3:
                paid["referral_code"] = rng.choice(["ref-a", "ref-b"])
            elif rng.random() < 0.3:
                paid["distributor_code"] = rng.choice(["d-1", "d-2"])
            messages.append(paid)
            for r in range(rng.choice([0, 0, 1, 2])):  # partial refunds
                messages.append(
                    {
                        **base,
                        "type": "order.refunded",
                        "event_id": f"r-{order}-{r}",
                        "occurred_at": _iso(at + timedelta(days=3)),
                        "refund": {
                            "refund_id": f"rf-{order}-{r}",
                            "lines": [{"line_id": "l-1", "amount": 2500}],
                        },
                    }
                )
            if rng.random() < 0.3:
                messages.append(
                    {
                        "type": "coupon.redeemed",
                        "event_id": f"cr-{order}",
                        "shop": SHOP,
                        "customer_id": customer,
                        "order_id": order,
                        "coupon_id": f"cp-{order}",
                        "template_id": rng.choice(["t-1", "t-2"]),
                        "share_link_id": rng.choice([None, "sl-1"]),
                        "grant_id": None,
                        "discount_amount": 500,
                        "occurred_at": _iso(at),
                    }
                )
    return messages


def brute_force(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each customer's profile, recomputed from the distinct messages without the service's code."""
    orders: dict[tuple[str, str], dict[str, Any]] = {}
    for m in messages:
        o = orders.setdefault((m["customer_id"], m["order_id"]), {"refunds": {}, "cancelled": False})
        if m["type"] == "order.paid":
            o["at"] = int(
                datetime.strptime(m["occurred_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            )
            o["paid"] = sum(line["paid_amount"] for line in m["lines"])
            o["ref"], o["dist"] = m.get("referral_code"), m.get("distributor_code")
        elif m["type"] == "order.cancelled":
            o["cancelled"] = True
        elif m["type"] == "order.refunded":
            o["refunds"][m["refund"]["refund_id"]] = sum(r["amount"] for r in m["refund"]["lines"])
        else:
            o["tpl"], o["link"] = m["template_id"], m["share_link_id"]
    result: dict[str, dict[str, Any]] = {}
    for (customer, order_id), o in orders.items():
        if "at" in o and not o["cancelled"]:
            result.setdefault(customer, {"orders": []})["orders"].append((o["at"], order_id, o))
    for p in result.values():
        p["orders"].sort(key=lambda t: (t[0], t[1]))
        first = p["orders"][0][2]
        p["first"], p["last"] = p["orders"][0][0], p["orders"][-1][0]
        p["second"] = p["orders"][1][0] if len(p["orders"]) > 1 else None
        p["paid"] = sum(t[2]["paid"] for t in p["orders"])
        p["refunded"] = sum(min(sum(t[2]["refunds"].values()), t[2]["paid"]) for t in p["orders"])
        channel = (
            "referral"
            if first.get("ref")
            else "distribution"
            if first.get("dist")
            else "coupon_share"
            if first.get("link")
            else "direct"
        )
        p["dims"] = {
            "channel": channel,
            "referral_code": first.get("ref") or "(none)",
            "distributor": first.get("dist") or "(none)",
            "first_coupon_template": first.get("tpl") or "(none)",
            "first_order_month": datetime.fromtimestamp(p["first"], UTC).strftime("%Y-%m"),
        }
    return result


def brute_report(
    truth: dict[str, dict[str, Any]], by: str, first: date, last: date
) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for p in truth.values():
        if not first <= datetime.fromtimestamp(p["first"], UTC).date() <= last:
            continue
        row = rows.setdefault(
            p["dims"][by],
            {
                "customers": 0,
                "orders": 0,
                "repeat": 0,
                "r30": 0,
                "r60": 0,
                "r90": 0,
                "span": 0,
                "gaps": 0,
                "gmv": 0,
            },
        )
        n = len(p["orders"])
        row["customers"] += 1
        row["orders"] += n
        row["repeat"] += n >= 2
        for days in (30, 60, 90):
            row[f"r{days}"] += p["second"] is not None and p["second"] - p["first"] <= days * 86_400
        row["span"] += p["last"] - p["first"]
        row["gaps"] += n - 1
        row["gmv"] += p["paid"] - p["refunded"]
    return rows


def deliver(db: FakeDb, messages: list[dict[str, Any]], rng: random.Random, faults: bool = False) -> None:
    """Each message 1-3 times, shuffled; with ``faults``, some saves crash or lose their answer
    and the message is delivered again (as SQS would)."""
    copies = [m for m in messages for _ in range(rng.randint(1, 3))]
    rng.shuffle(copies)
    stores = db.stores()
    for m in copies:
        while True:
            if faults and rng.random() < 0.2:
                db.fail("profiles.save", rng.choice(["crash", "lost"]))
            try:
                consumer.handle(m, stores)
                break
            except (Crash, LostAnswer):
                continue
            finally:
                db.faults.clear()


@pytest.mark.parametrize("seed", range(8))
def test_duplicated_shuffled_crashing_delivery_gives_the_brute_force_profiles_and_report(seed):
    rng = random.Random(seed)
    messages = history(rng)
    db = FakeDb()
    deliver(db, messages, rng, faults=seed % 2 == 1)
    truth = brute_force(messages)
    stores = db.stores()
    for customer, p in truth.items():
        got = profiles.get_profile(SHOP, customer, stores)
        assert (got.orders_count, got.first_order_at, got.last_order_at) == (
            len(p["orders"]),
            p["first"],
            p["last"],
        )
        assert (got.paid_total_amount, got.refunded_total_amount) == (p["paid"], p["refunded"])
        assert got.first_touch is not None and got.first_touch.channel == p["dims"]["channel"]
    windows = [(date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 2, 1), date(2026, 3, 15))]
    for first, last in windows:
        for by in DIMENSIONS:
            report = reports.repurchase(
                SHOP,
                AudienceReportQuery.model_validate(
                    {"from": first.isoformat(), "to": last.isoformat(), "by": by}
                ),
                stores,
            )
            expected = brute_report(truth, by, first, last)
            got = {r.key: r for r in report.items}
            assert set(got) == set(expected), (by, first, last)
            for key, e in expected.items():
                r = got[key]
                assert (r.customers, r.orders, r.repeat_customers) == (
                    e["customers"],
                    e["orders"],
                    e["repeat"],
                )
                assert (
                    r.repurchase_30d_customers,
                    r.repurchase_60d_customers,
                    r.repurchase_90d_customers,
                ) == (e["r30"], e["r60"], e["r90"])
                assert r.gmv_amount == e["gmv"]
                assert r.mean_days_between_orders == (
                    round(e["span"] / e["gaps"] / 86_400, 2) if e["gaps"] else None
                )
                assert r.repurchase_30d_bps == e["r30"] * 10_000 // e["customers"]
            assert report.total.customers == sum(e["customers"] for e in expected.values())


def test_a_late_earlier_order_moves_the_customer_to_its_cohort_and_touch():
    db = FakeDb()
    stores = db.stores()
    line = [{"line_id": "l-1", "product_id": "p", "quantity": 1, "unit_amount": 100, "paid_amount": 100}]
    later = {
        "type": "order.paid",
        "event_id": "e2",
        "order_id": "o2",
        "customer_id": "c",
        "shop": SHOP,
        "occurred_at": "2026-03-10T00:00:00Z",
        "lines": line,
    }
    earlier = {
        **later,
        "event_id": "e1",
        "order_id": "o1",
        "occurred_at": "2026-02-01T00:00:00Z",
        "referral_code": "ref-a",
    }
    consumer.handle(later, stores)
    query = AudienceReportQuery.model_validate(
        {"from": "2026-01-01", "to": "2026-12-31", "by": "first_order_month"}
    )
    assert [(r.key, r.customers) for r in reports.repurchase(SHOP, query, stores).items] == [("2026-03", 1)]
    consumer.handle(earlier, stores)
    report = reports.repurchase(SHOP, query, stores)
    assert [
        (r.key, r.customers, r.orders, r.repurchase_30d_customers, r.repurchase_60d_customers)
        for r in report.items
    ] == [("2026-02", 1, 2, 0, 1)]
    profile = profiles.get_profile(SHOP, "c", stores)
    assert profile.first_touch is not None and profile.first_touch.referral_code == "ref-a"
    assert profile.last_touch is not None and profile.last_touch.channel == "direct"


def test_a_refund_before_its_payment_counts_once_the_payment_arrives():
    db = FakeDb()
    stores = db.stores()
    line = [{"line_id": "l-1", "product_id": "p", "quantity": 1, "unit_amount": 1000, "paid_amount": 1000}]
    base = {
        "order_id": "o1",
        "customer_id": "c",
        "shop": SHOP,
        "lines": line,
        "occurred_at": "2026-02-01T00:00:00Z",
    }
    consumer.handle(
        {
            **base,
            "type": "order.refunded",
            "event_id": "r",
            "refund": {"refund_id": "rf", "lines": [{"line_id": "l-1", "amount": 400}]},
        },
        stores,
    )
    assert profiles.get_profile(SHOP, "c", stores).orders_count == 0
    consumer.handle({**base, "type": "order.paid", "event_id": "p"}, stores)
    got = profiles.get_profile(SHOP, "c", stores)
    assert (got.orders_count, got.paid_total_amount, got.refunded_total_amount, got.gmv_amount) == (
        1,
        1000,
        400,
        600,
    )


@pytest.mark.parametrize(("first", "last"), [("2026-03-01", "2026-02-01"), ("2024-01-01", "2026-01-02")])
def test_an_inverted_or_over_two_year_period_is_refused(first, last):
    query = AudienceReportQuery.model_validate({"from": first, "to": last})
    with pytest.raises(InvalidRequest):
        reports.repurchase(SHOP, query, FakeDb().stores())
