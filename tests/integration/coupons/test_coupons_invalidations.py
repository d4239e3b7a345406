"""Invalidations (作废): a job voids every unused coupon of a template; locked coupons are voided
when their lock is released, redeemed ones are untouched, and the stock goes back only with
``return_stock``."""

from __future__ import annotations

from campaign_shared import clock, messaging


def claimed(gateway, auth, customers, **fields):
    body = {"name": "Void me", "kind": "amount_off", "amount_off": 500, "total_stock": 10, **fields}
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    coupons = {}
    for sub in customers:
        answer = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
        assert answer.status_code == 201, answer
        coupons[sub] = answer.json()["coupon_id"]
    return tid, coupons


def status(gateway, auth, sub, coupon):
    return gateway.get(f"/coupons/customers/{sub}/coupons/{coupon}", headers=auth("merchant")).json()[
        "status"
    ]


def invalidate(gateway, auth, drain, tid, **body):
    answer = gateway.post(f"/coupons/templates/{tid}/invalidations", body, headers=auth("merchant"))
    assert answer.status_code == 202, answer
    drain("coupons:bulk")
    done = gateway.get(f"/coupons/invalidations/{answer.json()['invalidation_id']}", headers=auth("merchant"))
    assert done.status_code == 200, done
    return done.json()


def pay(drain, coupon, sub, order, kind="order.paid"):
    messaging.send(
        "coupons",
        {
            "event_id": f"e-{kind}-{order}",
            "type": kind,
            "shop": "s1",
            "order_id": order,
            "customer_id": sub,
            "coupon_id": coupon,
            "occurred_at": clock.iso(clock.now()),
            "lines": [
                {"line_id": "l", "product_id": "p", "quantity": 1, "unit_amount": 3000, "paid_amount": 2500}
            ],
        },
    )
    drain("coupons:main")


def test_unused_coupons_are_voided_locked_ones_on_release_redeemed_ones_untouched(gateway, auth, drain):
    tid, c = claimed(gateway, auth, ["free1", "free2", "locked", "paid", "held"])
    _, other = claimed(gateway, auth, ["free1"])  # another template's coupon: untouched
    lock = gateway.post(
        f"/coupons/{c['locked']}/lock", {"order_id": "o-l"}, headers=auth("customer", sub="locked")
    )
    assert lock.status_code == 200
    gateway.post(f"/coupons/{c['held']}/lock", {"order_id": "o-h"}, headers=auth("customer", sub="held"))
    pay(drain, c["paid"], "paid", "o-p")

    done = invalidate(gateway, auth, drain, tid)
    assert (done["status"], done["voided"], done["voided_on_release"], done["stock_returned"]) == (
        "done",
        2,
        2,
        0,
    )
    assert status(gateway, auth, "free1", c["free1"]) == "invalidated"
    assert status(gateway, auth, "free2", c["free2"]) == "invalidated"
    assert status(gateway, auth, "paid", c["paid"]) == "redeemed"
    assert status(gateway, auth, "free1", other["free1"]) == "available"
    assert status(gateway, auth, "locked", c["locked"]) == "locked"  # its order is in flight

    released = gateway.post(f"/coupons/{c['locked']}/unlock", headers=auth("customer", sub="locked"))
    assert released.status_code == 200 and released.json()["status"] == "invalidated"
    pay(drain, c["held"], "held", "o-h")  # the order holding the lock still redeems it
    assert status(gateway, auth, "held", c["held"]) == "redeemed"
    refused = gateway.post(
        f"/coupons/{c['free1']}/lock", {"order_id": "o-x"}, headers=auth("customer", sub="free1")
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_available"

    shown = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    assert (shown["invalidated_count"], shown["total_stock"], shown["remaining_stock"]) == (2, 10, 5)
    assert history_actions(gateway, auth, tid)[-1] == "invalidated"
    again = invalidate(gateway, auth, drain, tid)  # a second job finds nothing more to void
    assert (again["voided"], again["voided_on_release"]) == (0, 0)


def history_actions(gateway, auth, tid):
    items = gateway.get(f"/coupons/templates/{tid}/history", headers=auth("merchant")).json()["items"]
    return [i["action"] for i in items]


def test_return_stock_puts_the_voided_units_back_once(gateway, auth, drain):
    tid, c = claimed(gateway, auth, ["a", "b", "c"], total_stock=3)
    assert (
        gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="late")).status_code
        == 409
    )
    done = invalidate(gateway, auth, drain, tid, return_stock=True)
    assert (done["voided"], done["stock_returned"]) == (3, 3)
    shown = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    assert (shown["total_stock"], shown["issued_count"], shown["remaining_stock"]) == (6, 3, 3)
    for n in range(3):
        assert (
            gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=f"n{n}")).status_code
            == 201
        )
    assert (
        gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="n9")).status_code == 409
    )


def test_bad_invalidations_are_4xx(gateway, auth):
    tid, _ = claimed(gateway, auth, [], kind="lucky", amount_off=None, lucky_total_amount=100)
    lucky = gateway.post(
        f"/coupons/templates/{tid}/invalidations", {"return_stock": True}, headers=auth("merchant")
    )
    assert lucky.status_code == 400
    assert (
        gateway.post("/coupons/templates/tpl-nope/invalidations", {}, headers=auth("merchant")).status_code
        == 404
    )
    assert (
        gateway.post(
            f"/coupons/templates/{tid}/invalidations", {"x": 1}, headers=auth("merchant")
        ).status_code
        == 400
    )
    assert gateway.get("/coupons/invalidations/inv-nope", headers=auth("merchant")).status_code == 404
    assert (
        gateway.post(f"/coupons/templates/{tid}/invalidations", {}, headers=auth("customer")).status_code
        == 403
    )
