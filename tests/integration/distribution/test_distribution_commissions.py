"""Order events -> commissions: attribution, two tiers, duplicates, refunds in any order,
settlement and clawbacks, with balances always equal to the ledger's sums."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock

LATER = "2030-01-01T00:00:00Z"


def _consistent(dist, *subs):
    for sub in subs:
        report = dist.reconcile(sub)
        assert report["consistent"] and report["journal_groups"] == 0, report


def test_paid_through_a_tier2_link_credits_both_tiers(dist):
    code, parent_code = dist.chain()
    dist.send(dist.paid("o-1", code, [("l-1", 9000), ("l-2", 1005)]))
    # tier 1 at 10%, floor per line: 900 + 100; tier 2 at 5%: 450 + 50
    assert dist.amounts("c") == (1000, 0, 0)
    assert dist.amounts("p") == (500, 0, 0)
    rows = {(r["line_id"], r["tier"]): r for r in dist.commissions("c")}
    assert rows[("l-1", 1)]["amount"] == 900 and rows[("l-1", 1)]["status"] == "pending"
    assert rows[("l-2", 1)]["amount"] == 100 and rows[("l-2", 1)]["rate_bps"] == 1000
    assert {(r["line_id"], r["tier"], r["amount"]) for r in dist.commissions("p")} == {
        ("l-1", 2, 450),
        ("l-2", 2, 50),
    }
    assert not any(dist.stats().values())  # nothing unattributed
    _consistent(dist, "c", "p")
    # the parent's own code earns the parent tier 1 only (no third tier, no self-parent)
    dist.send(dist.paid("o-2", parent_code, [("l-1", 1000)]))
    assert dist.amounts("p") == (600, 0, 0) and dist.amounts("c") == (1000, 0, 0)


def test_product_rates_override_the_default_and_the_link_product_does_not_limit_the_order(dist):
    dist.rules(product_rates_bps={"p-l-2": 2000})
    assert dist.register("c").status_code == 201
    code = dist.link("c", product_id="p-l-1")
    dist.send(dist.paid("o-1", code, [("l-1", 1000), ("l-2", 1000)]))
    assert dist.amounts("c") == (100 + 200, 0, 0)


def test_duplicates_and_a_second_event_id_for_the_same_order_credit_once(dist):
    code, _ = dist.chain()
    event = dist.paid("o-1", code)
    dist.send(event, event, event, {**event, "event_id": "another-id"})
    assert dist.amounts("c") == (1000, 0, 0)
    assert dist.amounts("p") == (500, 0, 0)
    assert len(dist.ledger("c")) == 1
    assert not any(dist.stats().values())  # nothing unattributed


def test_partial_then_full_refund_before_settlement_reverses_exactly_to_zero(dist):
    code, _ = dist.chain()
    dist.send(dist.paid("o-1", code, [("l-1", 999)]))  # tier 1: 99, tier 2: 49
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 333)]))  # a third: floor(99/3)=33, floor(49/3)=16
    assert dist.amounts("c") == (66, 0, 0)
    assert dist.amounts("p") == (33, 0, 0)
    dist.send(dist.refunded("o-1", "r-2", [("l-1", 666)]))  # the rest takes the remainder
    assert dist.amounts("c") == (0, 0, 0)
    assert dist.amounts("p") == (0, 0, 0)
    (row,) = dist.commissions("c")
    assert row["status"] == "reversed" and row["reversed_amount"] == 99 and row["amount"] == 0
    kinds = sorted(e["kind"] for e in dist.ledger("c"))
    assert kinds == ["accrual", "reversal", "reversal"]
    assert dist.settle(LATER)["settled_count"] == 0
    _consistent(dist, "c", "p")


def test_refund_before_its_payment_is_applied_when_the_payment_arrives(dist):
    code, _ = dist.chain()
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 5000)]))
    assert dist.amounts("c") == (0, 0, 0)
    dist.send(dist.paid("o-1", code, [("l-1", 10000)]))
    assert dist.amounts("c") == (500, 0, 0)
    assert dist.amounts("p") == (250, 0, 0)
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 5000)]))  # redelivered: nothing more
    assert dist.amounts("c") == (500, 0, 0)
    _consistent(dist, "c", "p")


def test_refund_larger_than_paid_is_capped_never_negative(dist):
    code, _ = dist.chain()
    dist.send(dist.refunded("o-1", "r-0", [("l-1", 7000), ("l-x", 50)]))
    dist.send(dist.paid("o-1", code, [("l-1", 10000)]))
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 9000)]))  # 16000 refunded of 10000: capped
    assert dist.amounts("c") == (0, 0, 0)
    assert dist.amounts("p") == (0, 0, 0)
    assert all(e["amount"] >= 0 for e in dist.ledger("c"))
    _consistent(dist, "c", "p")


def test_settlement_is_idempotent_and_respects_the_delay(dist):
    code, _ = dist.chain()
    dist.rules(settle_after_days=30)
    dist.send(dist.paid("o-1", code))  # paid 2026-11-11, due 2026-12-11
    early = dist.settle("2026-12-10T23:59:59Z")
    assert early["settled_count"] == 0 and dist.amounts("c") == (1000, 0, 0)
    first = dist.settle("2026-12-11T00:00:05Z")
    assert first == {
        "settled_count": 2,
        "settled_amount": 1500,
        "as_of": "2026-12-11T00:00:05Z",
        "has_more": False,
    }
    assert dist.amounts("c") == (0, 1000, 0)
    assert dist.amounts("p") == (0, 500, 0)
    again = dist.settle(LATER)
    assert again["settled_count"] == 0 and again["settled_amount"] == 0
    assert dist.amounts("c") == (0, 1000, 0)
    assert [r["status"] for r in dist.commissions("c", status="available")] == ["available"]
    assert dist.commissions("c", status="pending") == []
    _consistent(dist, "c", "p")


def test_refund_after_settlement_is_a_clawback_that_may_go_negative(dist):
    code, _ = dist.chain()
    dist.send(dist.paid("o-1", code))
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 2500)]))  # before settlement: 250 / 125 reversed
    dist.settle(LATER)
    assert dist.amounts("c") == (0, 750, 0)
    withdrawn = dist.gateway.post(
        "/distribution/me/withdrawals", {"amount": 750}, headers=dist.auth("customer", "s1", "c")
    )
    assert withdrawn.status_code == 201, withdrawn
    dist.send(dist.refunded("o-1", "r-2", [("l-1", 7500)]))  # after: the rest is clawed back
    assert dist.amounts("c") == (0, -750, 0) and dist.reserved("c") == 750  # requested, not yet paid
    assert dist.amounts("p") == (0, 0, 0)
    (row,) = dist.commissions("c")
    assert row["status"] == "clawed_back" and row["clawback_amount"] == 750 and row["reversed_amount"] == 250
    assert dist.balance("c")["earned_amount"] == 0
    _consistent(dist, "c", "p")


def test_unknown_inactive_and_self_purchase_codes_earn_nothing_and_are_counted(dist):
    code, _ = dist.chain()
    dist.register("q")  # auto-approved; suspend it
    q_code = dist.link("q")
    assert (
        dist.gateway.post(
            "/distribution/distributors/q/suspend", headers=dist.auth("merchant", "s1", "m1")
        ).status_code
        == 200
    )
    dist.send(
        dist.paid("o-1", "no-such-code"),
        dist.paid("o-2", q_code),
        dist.paid("o-3", code, customer="c"),
        dist.paid("o-4", code, currency="USD"),
        dist.paid("o-5", None),
    )
    assert (
        dist.amounts("c") == (0, 0, 0) and dist.amounts("q") == (0, 0, 0) and dist.amounts("p") == (0, 0, 0)
    )
    stats = dist.stats()
    assert stats["unknown_code_orders"] == 1
    assert stats["inactive_code_orders"] == 1
    assert stats["self_purchase_orders"] == 1
    assert stats["currency_mismatch_orders"] == 1
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 100)]))  # refund of an unattributed order: dropped
    assert dist.amounts("c") == (0, 0, 0)
    dist.rules(self_purchase_commission=True)  # the merchant turns the self-purchase rule off
    dist.send(dist.paid("o-6", code, customer="c"))
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)


def test_malformed_events_change_nothing(dist, aws):
    code, _ = dist.chain()
    bad = dist.paid("o-1", code)
    bad["lines"][0]["paid_amount"] = -5
    stats = dist.send(bad, {**dist.paid("o-2", code), "lines": []}, {"type": "order.paid", "shop": "s1"})
    assert stats["failed"] > 0
    assert dist.amounts("c") == (0, 0, 0)
    assert dist.ledger("c") == []
    dist.send(dist.paid("o-3", code, shop="s2"))  # the same code in another shop is unknown there
    assert dist.amounts("c") == (0, 0, 0)


def test_the_daily_schedule_settles_every_shop_once(dist, gateway, auth):
    from infrastructure.dev.apps import load_app
    from infrastructure.local.poller import LambdaContext
    from infrastructure.local.scheduler import schedules_of

    module = load_app("distribution")
    (schedule,) = [s for s in schedules_of(module) if s.name == "daily_settlement"]
    assert schedule.expression == "cron(0 2 * * ? *)"
    for shop in ("s1", "s2"):
        code, _ = dist.chain(shop)
        dist.rules(shop, settle_after_days=0)
        dist.send(dist.paid("o-1", code, shop=shop))
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-22T02:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    assert schedule.handler(event, LambdaContext("daily_settlement"))["settled_count"] == 4
    assert schedule.handler(event, LambdaContext("daily_settlement"))["settled_count"] == 0
    for shop in ("s1", "s2"):
        assert dist.amounts("c", shop) == (0, 1000, 0) and dist.amounts("p", shop) == (0, 500, 0)
    for bad in ({"as_of": "yesterday"}, {"as_of": "2026-11-11T00:00:00"}, {"as_of": 5}, {"extra": 1}):
        response = gateway.post("/distribution/settlements", bad, headers=auth("merchant", "s1", "m1"))
        assert response.status_code == 400, (bad, response)


def test_a_future_as_of_is_refused_so_a_later_refund_cannot_overdraw(dist, gateway, auth):
    """The hole: settling "as of" a week ahead made an order paid today available at once
    (skipping its 7-day refund hold); the distributor withdrew it, the refund then clawed it
    back and left the balance negative. Now the future as_of is refused and nothing moves."""
    code, _ = dist.chain()
    now = clock.now()
    dist.send(dist.paid("o-1", code, occurred_at=clock.iso(now)))  # due in 7 days
    assert dist.amounts("c") == (1000, 0, 0)
    for ahead in (timedelta(days=8), timedelta(minutes=1)):
        response = gateway.post(
            "/distribution/settlements",
            {"as_of": clock.iso(now + ahead)},
            headers=auth("merchant", "s1", "m1"),
        )
        assert response.status_code == 400, response
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and "future" in error["message"]
        assert error["details"][0]["loc"] == ["body", "as_of"]
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
    settled = dist.settle()  # as of now: not due yet
    assert settled["settled_count"] == 0
    withdrawn = gateway.post(
        "/distribution/me/withdrawals", {"amount": 1000}, headers=auth("customer", "s1", "c")
    )
    assert withdrawn.status_code == 409 and withdrawn.json()["error"]["code"] == "insufficient_balance"
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 10000)]))  # refunded inside the hold: a reversal
    assert dist.amounts("c") == (0, 0, 0) and dist.amounts("p") == (0, 0, 0)
    assert sorted(e["kind"] for e in dist.ledger("c")) == ["accrual", "reversal"]
    _consistent(dist, "c", "p")


def test_an_as_of_a_few_seconds_ahead_is_settled_as_of_now(dist, gateway, auth):
    code, _ = dist.chain()
    dist.rules(settle_after_days=0)
    dist.send(dist.paid("o-1", code))
    ahead = clock.iso(clock.now() + timedelta(seconds=2))
    response = gateway.post(
        "/distribution/settlements", {"as_of": ahead}, headers=auth("merchant", "s1", "m1")
    )
    assert response.status_code == 200, response
    assert response.json()["settled_count"] == 2 and response.json()["as_of"] <= ahead
