"""``return_on_refund``: an order refunded in full gives its coupon back while the coupon is
valid; and a template's redemptions carry the discount given and the GMV of their orders."""

from __future__ import annotations

import itertools
from datetime import timedelta

from campaign_shared import clock, messaging

_events = itertools.count()


def claimed(gateway, auth, sub="u1", **fields):
    body = {"name": "Back on refund", "kind": "amount_off", "amount_off": 1000, "total_stock": 10, **fields}
    template = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()
    answer = gateway.post(
        f"/coupons/templates/{template['template_id']}/claim", headers=auth("customer", sub=sub)
    )
    assert answer.status_code == 201, answer
    return template["template_id"], answer.json()["coupon_id"]


def event(kind, coupon, order, sub="u1", refund=None, lines=((6000, 5500), (4000, 3500))):
    body = {
        "event_id": f"e-refund-{next(_events)}",
        "type": kind,
        "shop": "s1",
        "order_id": order,
        "customer_id": sub,
        "coupon_id": coupon,
        "occurred_at": clock.iso(clock.now()),
        "lines": [
            {"line_id": f"l{n}", "product_id": f"p{n}", "quantity": 1, "unit_amount": u, "paid_amount": p}
            for n, (u, p) in enumerate(lines)
        ],
    }
    if refund is not None:
        body["refund"] = {
            "refund_id": refund[0],
            "lines": [{"line_id": lid, "amount": a} for lid, a in refund[1]],
        }
    return body


def deliver(drain, *bodies):
    for body in bodies:
        messaging.send("coupons", body)
    drain("coupons:main")


def mine(gateway, auth, coupon, sub="u1"):
    return gateway.get(f"/coupons/customers/{sub}/coupons/{coupon}", headers=auth("merchant")).json()


def figures(gateway, auth, tid):
    t = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    return t["redeemed_count"], t["discount_total_amount"], t["redeemed_gmv_amount"]


def test_a_full_refund_in_two_parts_gives_the_coupon_back_once(gateway, auth, drain):
    tid, coupon = claimed(gateway, auth, return_on_refund=True)
    deliver(drain, event("order.paid", coupon, "o-1"))  # pays 9,000; the coupon took 1,000
    assert mine(gateway, auth, coupon)["status"] == "redeemed"
    assert figures(gateway, auth, tid) == (1, 1000, 9000)
    part = event("order.refunded", coupon, "o-1", refund=("r-1", [("l0", 5500)]))
    deliver(drain, part, part)  # redelivered: noted once
    assert mine(gateway, auth, coupon)["status"] == "redeemed"  # 5,500 of 9,000 refunded
    rest = event("order.refunded", coupon, "o-1", refund=("r-2", [("l1", 3500)]))
    deliver(drain, rest, rest)
    back = mine(gateway, auth, coupon)
    assert (back["status"], back["order_id"]) == ("available", None)
    assert figures(gateway, auth, tid) == (0, 0, 0)
    deliver(drain, event("order.paid", coupon, "o-1"))  # a late copy of the refunded payment
    assert mine(gateway, auth, coupon)["status"] == "available"
    deliver(drain, event("order.paid", coupon, "o-2", lines=((3000, 2000),)))  # used again
    assert mine(gateway, auth, coupon)["status"] == "redeemed"
    assert figures(gateway, auth, tid) == (1, 1000, 2000)


def test_without_the_option_or_once_expired_a_refund_gives_nothing_back(gateway, auth, drain, monkeypatch):
    _, plain = claimed(gateway, auth)
    deliver(drain, event("order.paid", plain, "o-p"))
    deliver(drain, event("order.refunded", plain, "o-p", refund=("r", [("l0", 5500), ("l1", 3500)])))
    assert mine(gateway, auth, plain)["status"] == "redeemed"

    start = clock.now()
    _, short = claimed(gateway, auth, return_on_refund=True, valid_until=clock.iso(start + timedelta(days=1)))
    deliver(drain, event("order.paid", short, "o-s"))
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=2))
    deliver(drain, event("order.refunded", short, "o-s", refund=("r", [("l0", 5500), ("l1", 3500)])))
    assert mine(gateway, auth, short)["status"] == "redeemed"


def test_a_refund_of_another_order_changes_nothing(gateway, auth, drain):
    tid, coupon = claimed(gateway, auth, return_on_refund=True)
    deliver(drain, event("order.paid", coupon, "o-1"))
    deliver(drain, event("order.refunded", coupon, "o-other", refund=("r", [("l0", 5500), ("l1", 3500)])))
    assert mine(gateway, auth, coupon)["status"] == "redeemed"
    assert figures(gateway, auth, tid) == (1, 1000, 9000)
