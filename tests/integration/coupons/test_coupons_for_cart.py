"""``POST /coupons/for-cart`` (Youzan ``beforeorder``): the caller's unspent coupons against one
cart, the usable ones with their exact discount best first, the others with their reason."""

from __future__ import annotations

import itertools
from datetime import timedelta

from campaign_shared import clock, messaging

_events = itertools.count()
CART = [
    {"product_id": "p-1", "quantity": 2, "unit_amount": 3000},
    {"product_id": "p-2", "quantity": 1, "unit_amount": 4000},
]  # 10,000 in all


def claimed(gateway, auth, sub="u1", **template):
    body = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, **template}
    created = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert created.status_code == 201, created
    claim = gateway.post(
        f"/coupons/templates/{created.json()['template_id']}/claim", headers=auth("customer", sub=sub)
    )
    assert claim.status_code == 201, claim
    return claim.json()["coupon_id"]


def for_cart(gateway, auth, sub="u1", lines=CART, **extra):
    return gateway.post("/coupons/for-cart", {"lines": lines, **extra}, headers=auth("customer", sub=sub))


def test_usable_coupons_come_best_first_with_their_discount_and_the_rest_with_a_reason(gateway, auth):
    five = claimed(gateway, auth, amount_off=500)
    pct = claimed(
        gateway, auth, kind="percent_off", amount_off=None, percent_off=15, max_discount_amount=1200
    )
    soon = claimed(gateway, auth, amount_off=1200, valid_days=3)  # ties with pct: expires first
    later = claimed(gateway, auth, amount_off=1200, valid_days=30)
    scoped = claimed(gateway, auth, amount_off=800, product_ids=["p-2"])  # only p-2 counts: 4,000
    costly = claimed(gateway, auth, amount_off=3000, min_spend_amount=20000)
    elsewhere = claimed(gateway, auth, amount_off=900, product_ids=["p-9"])
    locked = claimed(gateway, auth, amount_off=2000)
    assert (
        gateway.post(f"/coupons/{locked}/lock", {"order_id": "o-other"}, headers=auth("customer")).status_code
        == 200
    )
    claimed(gateway, auth, sub="someone-else", amount_off=5000)  # never shown to u1

    answer = for_cart(gateway, auth)
    assert answer.status_code == 200, answer
    body = answer.json()
    usable = [(c["coupon"]["coupon_id"], c["discount_amount"], c["reason"]) for c in body["usable"]]
    assert usable == [
        (soon, 1200, None),
        (later, 1200, None),
        (pct, 1200, None),
        (scoped, 800, None),
        (five, 500, None),
    ]
    assert body["usable"][3]["eligible_subtotal_amount"] == 4000
    unusable = {c["coupon"]["coupon_id"]: (c["discount_amount"], c["reason"]) for c in body["unusable"]}
    assert unusable == {
        costly: (0, "below_min_spend"),
        elsewhere: (0, "out_of_scope"),
        locked: (0, "not_available"),
    }
    # the order being checked out: the coupon locked to it is usable, and the best
    mine = for_cart(gateway, auth, order_id="o-other").json()
    assert mine["usable"][0]["coupon"]["coupon_id"] == locked and mine["usable"][0]["discount_amount"] == 2000


def test_spent_coupons_are_left_out_and_expired_ones_say_so(gateway, auth, drain, monkeypatch):
    used = claimed(gateway, auth, amount_off=700)
    expiring = claimed(gateway, auth, amount_off=600, valid_days=1)
    kept = claimed(gateway, auth, amount_off=100)
    event = {
        "event_id": f"e-cart-{next(_events)}",
        "type": "order.paid",
        "order_id": "o-used",
        "customer_id": "u1",
        "occurred_at": clock.iso(clock.now()),
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 9000, "paid_amount": 8300}
        ],
        "coupon_id": used,
        "shop": "s1",
    }
    messaging.send("coupons", event)
    assert drain("coupons")["coupons"]["failed"] == 0
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = for_cart(gateway, auth).json()
    assert [c["coupon"]["coupon_id"] for c in body["usable"]] == [kept]
    assert [(c["coupon"]["coupon_id"], c["reason"], c["coupon"]["status"]) for c in body["unusable"]] == [
        (expiring, "expired", "expired")
    ]


def test_an_empty_wallet_and_bad_carts(gateway, auth):
    assert for_cart(gateway, auth, sub="new").json() == {"usable": [], "unusable": []}
    assert for_cart(gateway, auth, lines=[]).status_code == 400
    bad = for_cart(gateway, auth, lines=[{"product_id": "p-1", "quantity": "2", "unit_amount": 100}])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    assert gateway.post("/coupons/for-cart", {"lines": CART}, headers=auth("merchant")).status_code == 403
    assert gateway.post("/coupons/for-cart", {"lines": CART}).status_code == 401
