"""Levels, performance and the period leaderboard through the gateway (moto): the merchant's
ladder (overlaps refused with nothing written), an evaluation that promotes with history, an
order paid before the change priced at the old level though it arrives after, a later order's
ledger entry carrying the level and its rate; exact performance and rankings on a small
known history."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock

LADDER = [
    {"level_id": "silver", "name": "Silver", "min_gmv_amount": 10_000, "bonus_bps": 200},
    {"level_id": "gold", "name": "Gold", "min_gmv_amount": 50_000, "min_orders": 3, "rate_bps": 1500},
]


def _m(dist):
    return dist.auth("merchant", "s1", "m1")


def _get(dist, path, headers):
    response = dist.gateway.get(path, headers=headers)
    assert response.status_code == 200, response
    return response.json()


def test_ladder_validation_writes_nothing_on_a_refusal(dist):
    dist.rules()
    put = dist.gateway.put
    overlapping = [LADDER[1], LADDER[0]]  # a higher level with a lower threshold
    refused = put("/distribution/levels", {"levels": overlapping}, headers=_m(dist))
    assert refused.status_code == 409, refused
    error = refused.json()["error"]
    assert error["code"] == "overlapping_levels" and error["message"].startswith("levels[1].min_gmv_amount")
    assert error["details"][0]["loc"] == ["body", "levels", 1, "min_gmv_amount"]
    same = [LADDER[0], {**LADDER[0], "level_id": "silver2", "name": "Silver 2"}]
    assert put("/distribution/levels", {"levels": same}, headers=_m(dist)).status_code == 409
    for bad in (
        {"levels": [{**LADDER[0], "rate_bps": 1200}]},  # rate and bonus
        {"levels": [{**LADDER[0], "bonus_bps": 10_001}]},
        {"levels": [{**LADDER[0], "min_gmv_amount": -1}]},
        {"levels": [{**LADDER[0], "name": ""}]},
        {"levels": [LADDER[0], {**LADDER[1], "level_id": "silver"}]},
        {"levels": [{"level_id": "x", "name": "X", "bonus_bps": 100}]},  # no threshold
        {"levels": "silver"},
        {},
    ):
        response = put("/distribution/levels", bad, headers=_m(dist))
        assert response.status_code == 400, (bad, response)
    assert _get(dist, "/distribution/levels", _m(dist))["levels"] == []
    made = put("/distribution/levels", {"levels": LADDER}, headers=_m(dist))
    assert made.status_code == 200, made
    shown = _get(dist, "/distribution/levels", _m(dist))
    assert [(lv["level_id"], lv["rank"], lv["rate_bps"], lv["bonus_bps"]) for lv in shown["levels"]] == [
        ("silver", 1, None, 200),
        ("gold", 2, 1500, None),
    ]
    assert shown["window_days"] == 30


def test_levels_change_commission_from_the_level_in_force_when_paid(dist):
    code, _ = dist.chain()
    now = clock.now()
    assert dist.gateway.put("/distribution/levels", {"levels": LADDER}, headers=_m(dist)).status_code == 200
    dist.send(
        dist.paid(
            "o-0", code, [("l-1", 5_000)], customer="ann", occurred_at=clock.iso(now - timedelta(days=5))
        )
    )
    dist.send(
        dist.paid(
            "o-1", code, [("l-1", 20_000)], customer="ann", occurred_at=clock.iso(now - timedelta(hours=2))
        )
    )

    ran = dist.gateway.post("/distribution/levels/evaluations", headers=_m(dist))
    assert ran.status_code == 200, ran
    assert (ran.json()["promoted"], ran.json()["demoted"]) == (1, 0)
    level = _get(dist, "/distribution/distributors/c/level", _m(dist))
    assert (level["level_id"], level["name"], level["rank"], level["bonus_bps"]) == (
        "silver",
        "Silver",
        1,
        200,
    )
    (change,) = level["history"]
    assert (change["from_level"], change["to_level"]) == (None, "silver")
    assert change["metrics"] == {"gmv_amount": 25_000, "orders": 2, "recruits": 0}
    assert _get(dist, "/distribution/me/level", dist.auth("customer", "s1", "c"))["level_id"] == "silver"
    assert _get(dist, "/distribution/me", dist.auth("customer", "s1", "c"))["level_id"] == "silver"
    assert _get(dist, "/distribution/me/level", dist.auth("customer", "s1", "p"))["level_id"] is None
    missing = dist.gateway.get("/distribution/distributors/nobody/level", headers=_m(dist))
    assert missing.status_code == 404

    # Paid before the change, delivered after it: the old level (the base) prices it.
    dist.send(dist.paid("o-late", code, customer="cat", occurred_at=clock.iso(now - timedelta(hours=1))))
    later = clock.parse(level["since"]) + timedelta(minutes=1)
    dist.clock_to(clock.iso(later))
    dist.send(dist.paid("o-2", code, customer="bob", occurred_at=clock.iso(later)))
    entries = {e["order_id"]: e for e in dist.ledger("c", kind="accrual")}
    assert (entries["o-late"]["level"], entries["o-late"]["rate_bps"], entries["o-late"]["amount"]) == (
        None,
        1000,
        1000,
    )
    assert (entries["o-2"]["level"], entries["o-2"]["rate_bps"], entries["o-2"]["amount"]) == (
        "silver",
        1200,
        1200,
    )
    assert entries["o-2"]["paid_amount"] == 10_000
    parent = {e["order_id"]: e for e in dist.ledger("p", kind="accrual")}
    assert (parent["o-2"]["level"], parent["o-2"]["rate_bps"], parent["o-2"]["amount"]) == (None, 500, 500)
    assert dist.reconcile("c")["consistent"] and dist.reconcile("p")["consistent"]

    refund = dist.refunded("o-1", "r-1", [("l-1", 10_000)])
    refund["occurred_at"] = clock.iso(later)
    dist.send(refund)

    # Performance of a period that leaves o-0 (ann's first order) before it.
    first, last = (now - timedelta(days=3)).date().isoformat(), (now + timedelta(days=2)).date().isoformat()
    window = f"from={first}&to={last}"
    figures = _get(dist, f"/distribution/distributors/c/performance?{window}", _m(dist))
    assert figures == {
        "distributor_id": "c",
        "from_date": first,
        "to_date": last,
        "gmv_amount": 40_000,  # o-1, o-late, o-2 (refunds do not reduce GMV)
        "orders": 3,
        "customers": 3,
        "new_customers": 2,  # cat and bob
        "repeat_customers": 1,  # ann bought o-0 before the period
        "commission_amount": 3_200,  # 2,000 + 1,000 + 1,200 - 1,000 reversed
        "currency": "CNY",
    }
    assert _get(dist, f"/distribution/me/performance?{window}", dist.auth("customer", "s1", "c")) == figures
    whole = _get(
        dist,
        f"/distribution/distributors/c/performance?from={(now - timedelta(days=6)).date()}&to={last}",
        _m(dist),
    )
    assert (whole["gmv_amount"], whole["new_customers"], whole["repeat_customers"]) == (45_000, 3, 0)
    p_figures = _get(dist, f"/distribution/distributors/p/performance?{window}", _m(dist))
    assert (p_figures["gmv_amount"], p_figures["orders"], p_figures["commission_amount"]) == (0, 0, 1_500)

    by_gmv = _get(dist, f"/distribution/leaderboard/period?{window}&by=gmv", _m(dist))
    assert [
        (i["rank"], i["distributor_id"], i["gmv_amount"], i["commission_amount"]) for i in by_gmv["items"]
    ] == [
        (1, "c", 40_000, 3_200),
        (2, "p", 0, 1_500),
    ]
    assert by_gmv["items"][0]["level_id"] == "silver" and by_gmv["distributors"] == 2
    by_commission = _get(dist, f"/distribution/leaderboard/period?{window}&by=commission&limit=1", _m(dist))
    assert [i["distributor_id"] for i in by_commission["items"]] == ["c"]
    earlier = f"from={(now - timedelta(days=40)).date()}&to={(now - timedelta(days=35)).date()}"
    assert _get(dist, f"/distribution/leaderboard/period?{earlier}", _m(dist))["items"] == []
    assert [i["distributor_id"] for i in _get(dist, "/distribution/leaderboard", _m(dist))["items"]] == [
        "c",
        "p",
    ]

    for bad in (
        f"from={last}&to={first}",
        f"to={last}",
        "from=2025-01-01&to=2026-01-02",
        "from=yesterday&to=2026-01-02",
        f"{window}&by=orders",
        f"{window}&limit=0",
    ):
        response = dist.gateway.get(f"/distribution/leaderboard/period?{bad}", headers=_m(dist))
        assert response.status_code == 400, (bad, response)
    refused = dist.gateway.get(f"/distribution/distributors/c/performance?to={last}", headers=_m(dist))
    assert refused.status_code == 400
    gone = dist.gateway.get(f"/distribution/distributors/nobody/performance?{window}", headers=_m(dist))
    assert gone.status_code == 404


def test_the_daily_evaluate_levels_schedule_evaluates_every_shop(dist):
    from infrastructure.dev.apps import load_app
    from infrastructure.local.poller import LambdaContext
    from infrastructure.local.scheduler import schedules_of

    module = load_app("distribution")
    (schedule,) = [s for s in schedules_of(module) if s.name == "evaluate_levels"]
    assert schedule.expression == "cron(0 3 * * ? *)"
    now = clock.now()
    for shop in ("s1", "s2"):
        code, _ = dist.chain(shop)
        response = dist.gateway.put(
            "/distribution/levels", {"levels": LADDER}, headers=dist.auth("merchant", shop, "m1")
        )
        assert response.status_code == 200
        dist.send(
            dist.paid(
                "o-1", code, [("l-1", 10_000)], shop=shop, occurred_at=clock.iso(now - timedelta(hours=1))
            )
        )
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Scheduled Event",
        "account": "123456789012",
        "time": "2026-11-22T03:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "source": "aws.events",
        "detail": {},
    }
    ran = schedule.handler(event, LambdaContext("evaluate_levels"))
    assert (ran["shops"], ran["promoted"]) == (2, 2)
    assert schedule.handler(event, LambdaContext("evaluate_levels"))["promoted"] == 0
    for shop in ("s1", "s2"):
        level = _get(dist, "/distribution/distributors/c/level", dist.auth("merchant", shop, "m1"))
        assert level["level_id"] == "silver" and len(level["history"]) == 1
