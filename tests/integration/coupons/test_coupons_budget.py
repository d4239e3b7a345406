"""A discount budget (``budget_amount``): locks hold the coupon's largest discount within it,
a lock beyond it is 409 ``budget_exhausted``, a release gives it back, a redemption keeps what
it really took, and a lapsed lock's hold is reclaimed when the budget is needed."""

from __future__ import annotations

import itertools
from datetime import timedelta

from campaign_shared import clock, messaging

_events = itertools.count()


def budgeted(gateway, auth, customers, **fields):
    body = {"name": "Budgeted", "kind": "amount_off", "amount_off": 1000, "total_stock": 50, **fields}
    answer = gateway.post("/coupons/templates", {"budget_amount": 2500, **body}, headers=auth("merchant"))
    assert answer.status_code == 201, answer
    tid = answer.json()["template_id"]
    coupons = []
    for sub in customers:
        claim = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
        assert claim.status_code == 201, claim
        coupons.append(claim.json()["coupon_id"])
    return tid, coupons


def lock(gateway, auth, coupon, sub, order):
    return gateway.post(f"/coupons/{coupon}/lock", {"order_id": order}, headers=auth("customer", sub=sub))


def used(gateway, auth, tid):
    shown = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    assert shown["budget_amount"] == 2500
    return shown["budget_used_amount"]


def paid(drain, coupon, sub, order, unit=3000, kind="order.paid"):
    messaging.send(
        "coupons",
        {
            "event_id": f"e-budget-{next(_events)}",
            "type": kind,
            "shop": "s1",
            "order_id": order,
            "customer_id": sub,
            "coupon_id": coupon,
            "occurred_at": clock.iso(clock.now()),
            "lines": [
                {"line_id": "l1", "product_id": "p", "quantity": 1, "unit_amount": unit, "paid_amount": unit}
            ],
        },
    )
    drain("coupons:main")


def test_locks_hold_the_budget_and_the_one_beyond_it_is_409(gateway, auth):
    tid, coupons = budgeted(gateway, auth, ["a", "b", "c"])
    assert lock(gateway, auth, coupons[0], "a", "o-a").status_code == 200
    assert lock(gateway, auth, coupons[1], "b", "o-b").status_code == 200
    assert used(gateway, auth, tid) == 2000
    refused = lock(gateway, auth, coupons[2], "c", "o-c")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "budget_exhausted", refused
    assert lock(gateway, auth, coupons[0], "a", "o-a").status_code == 200  # the same lock again: nothing more
    assert used(gateway, auth, tid) == 2000
    assert gateway.post(f"/coupons/{coupons[1]}/unlock", headers=auth("customer", sub="b")).status_code == 200
    assert used(gateway, auth, tid) == 1000  # a release gives it back
    assert lock(gateway, auth, coupons[2], "c", "o-c").status_code == 200


def test_a_redemption_keeps_what_it_took_and_a_cancel_gives_back(gateway, auth, drain):
    tid, coupons = budgeted(
        gateway,
        auth,
        ["a", "b"],
        kind="percent_off",
        amount_off=None,
        percent_off=10,
        max_discount_amount=1200,
    )
    lock(gateway, auth, coupons[0], "a", "o-a")  # holds 1,200
    lock(gateway, auth, coupons[1], "b", "o-b")
    assert used(gateway, auth, tid) == 2400
    paid(drain, coupons[0], "a", "o-a", unit=3000)  # 10% of 3,000 = 300 taken
    assert used(gateway, auth, tid) == 1500
    paid(drain, coupons[0], "a", "o-a", unit=3000)  # redelivered: settled once
    assert used(gateway, auth, tid) == 1500
    paid(drain, coupons[1], "b", "o-b", kind="order.cancelled")
    assert used(gateway, auth, tid) == 300


def test_a_payment_without_a_lock_beyond_the_budget_is_a_conflict(gateway, auth, drain):
    tid, coupons = budgeted(gateway, auth, ["a", "b", "c"])
    paid(drain, coupons[0], "a", "o-a")
    paid(drain, coupons[1], "b", "o-b")
    assert used(gateway, auth, tid) == 2000
    paid(drain, coupons[2], "c", "o-c")
    seen = gateway.get(f"/coupons/customers/c/coupons/{coupons[2]}", headers=auth("merchant")).json()
    assert seen["status"] == "available"
    assert [c["reason"] for c in seen["conflicts"]] == ["budget_exhausted"]
    assert used(gateway, auth, tid) == 2000


def test_a_lapsed_locks_hold_is_reclaimed_when_the_budget_is_needed(gateway, auth, monkeypatch):
    tid, coupons = budgeted(gateway, auth, ["a", "b", "c"], lock_ttl_seconds=600)
    lock(gateway, auth, coupons[0], "a", "o-a")
    lock(gateway, auth, coupons[1], "b", "o-b")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=601))
    assert lock(gateway, auth, coupons[2], "c", "o-c").status_code == 200
    assert used(gateway, auth, tid) == 1000  # both lapsed holds went back, the new one holds 1,000


def test_a_budget_on_an_uncapped_percent_template_is_refused(gateway, auth):
    body = {"name": "x", "kind": "percent_off", "percent_off": 10, "total_stock": 5, "budget_amount": 1000}
    assert gateway.post("/coupons/templates", body, headers=auth("merchant")).status_code == 400
    for bad in (0, -5, "100"):
        body = {"name": "x", "kind": "amount_off", "amount_off": 10, "total_stock": 5, "budget_amount": bad}
        assert gateway.post("/coupons/templates", body, headers=auth("merchant")).status_code == 400, bad
