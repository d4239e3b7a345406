"""Over real HTTP against the local stack: one identity alphabet end to end (hardening item 5)
and duplicate event ids checked by a conditional write (item 6)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

pytestmark = pytest.mark.e2e


def _shop() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"


def _event(event_id, customer, order, paid=6000, **extra):
    return {
        "event_id": event_id,
        "type": "order.paid",
        "order_id": order,
        "customer_id": customer,
        # now: an order paid before the signup binds the referee does not qualify it
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": paid, "paid_amount": paid}
        ],
        **extra,
    }


def test_an_email_like_customer_id_works_everywhere(stack_url, http, bearer, wait_until):
    """Before: alice@example.com could claim and lock a coupon, but her order was refused, so
    the coupon stayed locked forever; a referrer with such an id sent both rewards to the DLQ."""
    shop = _shop()
    merchant, store = bearer("merchant", shop=shop, sub="m"), bearer("storefront", shop=shop, sub="st")
    alice, bob = "alice@example.com", "bob+shop@example.com"
    body = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, "per_customer_limit": 5}
    templates = [
        http.post(f"{stack_url}/coupons/templates", json=body, headers=merchant).json()["template_id"]
        for _ in range(3)
    ]
    coupon = http.post(
        f"{stack_url}/coupons/templates/{templates[0]}/claim",
        headers=bearer("customer", shop=shop, sub=alice),
    ).json()
    lock = http.post(
        f"{stack_url}/coupons/{coupon['coupon_id']}/lock",
        json={"order_id": "o-a"},
        headers=bearer("customer", shop=shop, sub=alice),
    )
    assert lock.status_code == 200, lock.text
    program = {
        "referrer_template_id": templates[1],
        "referee_template_id": templates[2],
        "min_order_amount": 1000,
    }
    assert http.put(f"{stack_url}/referral/program", json=program, headers=merchant).status_code == 200
    code = http.post(f"{stack_url}/referral/codes", headers=bearer("customer", shop=shop, sub=alice)).json()[
        "code"
    ]
    signup = http.post(
        f"{stack_url}/referral/signups", json={"code": code}, headers=bearer("customer", shop=shop, sub=bob)
    )
    assert signup.status_code == 201, signup.text
    paid = _event(f"e-{uuid.uuid4().hex}", alice, "o-a", coupon_id=coupon["coupon_id"])
    assert http.post(f"{stack_url}/events/orders", json=paid, headers=store).status_code == 202
    assert (
        http.post(
            f"{stack_url}/events/orders", json=_event(f"e-{uuid.uuid4().hex}", bob, "o-b"), headers=store
        ).status_code
        == 202
    )

    def mine(sub):
        return http.get(f"{stack_url}/coupons/me", headers=bearer("customer", shop=shop, sub=sub)).json()[
            "items"
        ]

    wait_until(lambda: any(c["status"] == "redeemed" for c in mine(alice)), timeout=20)
    wait_until(lambda: {c["template_id"] for c in mine(alice)} >= {templates[0], templates[1]}, timeout=20)
    wait_until(lambda: [c["template_id"] for c in mine(bob)] == [templates[2]], timeout=20)
    # The distributor routes that carry a customer id in the path accept it too.
    rules = {"default_rate_bps": 1000, "parent_rate_bps": 0, "settle_after_days": 0, "auto_approve": False}
    assert http.put(f"{stack_url}/distribution/rules", json=rules, headers=merchant).status_code == 200
    assert (
        http.post(
            f"{stack_url}/distribution/distributors",
            json={},
            headers=bearer("customer", shop=shop, sub=alice),
        ).status_code
        == 201
    )
    approve = http.post(f"{stack_url}/distribution/distributors/{alice}/approve", headers=merchant)
    assert approve.status_code == 200, approve.text


def test_a_shop_outside_the_alphabet_is_refused_at_the_door(stack_url, http, bearer):
    """Before: a shop named 商店 got 202 for every order event, which then went to the DLQ of
    all four services. Now the token itself is refused."""
    response = http.post(
        f"{stack_url}/events/orders", json=_event("e-x", "c", "o"), headers=bearer("storefront", shop="商店")
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_parallel_posts_of_one_event_id_take_effect_once(stack_url, bearer, wait_until):
    shop = _shop()
    store = bearer("storefront", shop=shop, sub="st")
    bodies = [_event("dup-1", f"buyer-{n}", f"o-{n}") for n in range(8)]

    def post(body):
        return requests.post(f"{stack_url}/events/orders", json=body, headers=store, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, bodies))
    statuses = [r.status_code for r in results]
    assert statuses.count(202) == 1 and statuses.count(409) == 7, statuses
    assert all(r.json()["error"]["code"] == "event_id_reused" for r in results if r.status_code == 409)
    winner = bodies[statuses.index(202)]
    assert post(winner).status_code == 202  # the identical body again is harmless
