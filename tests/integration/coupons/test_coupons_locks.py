"""An abandoned checkout never keeps a coupon: the customer unlocks it, or the lock lapses
after ``lock_ttl_seconds`` when no ``order.paid`` or ``order.cancelled`` came."""

from __future__ import annotations

import itertools
from datetime import timedelta

from campaign_shared import clock, messaging

_events = itertools.count()


def claimed(gateway, auth, sub="u1", **fields):
    body = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, **fields}
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    answer = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
    assert answer.status_code == 201, answer
    return answer.json()["coupon_id"]


def lock(gateway, auth, coupon, order, sub="u1"):
    return gateway.post(f"/coupons/{coupon}/lock", {"order_id": order}, headers=auth("customer", sub=sub))


def unlock(gateway, auth, coupon, sub="u1"):
    return gateway.post(f"/coupons/{coupon}/unlock", headers=auth("customer", sub=sub))


def mine(gateway, auth, coupon, sub="u1"):
    items = gateway.get("/coupons/me", headers=auth("customer", sub=sub)).json()["items"]
    return next(c for c in items if c["coupon_id"] == coupon)


def paid(drain, coupon, order, sub="u1"):
    messaging.send(
        "coupons",
        {
            "event_id": f"e-lock-{next(_events)}",
            "type": "order.paid",
            "shop": "s1",
            "order_id": order,
            "customer_id": sub,
            "coupon_id": coupon,
            "occurred_at": clock.iso(clock.now()),
            "lines": [
                {"line_id": "l1", "product_id": "p", "quantity": 1, "unit_amount": 9000, "paid_amount": 8500}
            ],
        },
    )
    drain("coupons:main")


def test_the_customer_unlocks_an_abandoned_checkout_and_can_use_the_coupon_again(gateway, auth):
    coupon = claimed(gateway, auth)
    assert lock(gateway, auth, coupon, "o-1").json()["status"] == "locked"
    answer = unlock(gateway, auth, coupon)
    assert answer.status_code == 200, answer
    assert (answer.json()["status"], answer.json()["order_id"]) == ("available", None)
    assert unlock(gateway, auth, coupon).json()["status"] == "available"  # again: as it is
    assert lock(gateway, auth, coupon, "o-2").json()["order_id"] == "o-2"


def test_unlock_refuses_a_used_coupon_and_someone_elses(gateway, auth, drain):
    coupon = claimed(gateway, auth)
    assert unlock(gateway, auth, coupon, sub="u-other").status_code == 404
    assert unlock(gateway, auth, "cp-nope").status_code == 404
    lock(gateway, auth, coupon, "o-1")
    paid(drain, coupon, "o-1")
    answer = unlock(gateway, auth, coupon)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_available", answer
    assert mine(gateway, auth, coupon)["status"] == "redeemed"


def test_a_lock_lapses_after_its_ttl_and_another_order_may_take_the_coupon(gateway, auth, monkeypatch):
    coupon = claimed(gateway, auth, lock_ttl_seconds=600)
    lock(gateway, auth, coupon, "o-1")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=590))  # times are kept to the second
    refused = lock(gateway, auth, coupon, "o-2")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_available"
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=601))
    assert mine(gateway, auth, coupon)["status"] == "available"
    cart = gateway.post(
        "/coupons/for-cart",
        {"lines": [{"product_id": "p", "quantity": 1, "unit_amount": 9000}]},
        headers=auth("customer"),
    ).json()
    assert [c["coupon"]["coupon_id"] for c in cart["usable"]] == [coupon]
    relocked = lock(gateway, auth, coupon, "o-2")
    assert relocked.status_code == 200 and relocked.json()["order_id"] == "o-2"


def test_a_late_payment_of_the_lapsed_order_redeems_unless_another_order_took_it(
    gateway, auth, drain, monkeypatch
):
    kept, taken = claimed(gateway, auth), claimed(gateway, auth)
    lock(gateway, auth, kept, "o-late")
    lock(gateway, auth, taken, "o-slow")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))  # past the default 1,800 s
    lock(gateway, auth, taken, "o-new")
    paid(drain, kept, "o-late")
    paid(drain, taken, "o-slow")
    assert (mine(gateway, auth, kept)["status"], mine(gateway, auth, kept)["order_id"]) == (
        "redeemed",
        "o-late",
    )
    after = gateway.get(f"/coupons/customers/u1/coupons/{taken}", headers=auth("merchant")).json()
    assert (after["status"], after["order_id"]) == ("locked", "o-new")
    assert [c["reason"] for c in after["conflicts"]] == ["locked_to_another_order"]


def test_a_payment_of_another_order_redeems_a_coupon_whose_lock_lapsed(gateway, auth, drain, monkeypatch):
    coupon = claimed(gateway, auth)
    lock(gateway, auth, coupon, "o-abandoned")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
    paid(drain, coupon, "o-other")
    after = mine(gateway, auth, coupon)
    assert (after["status"], after["order_id"]) == ("redeemed", "o-other")


def test_lock_ttl_is_bounded(gateway, auth):
    for bad in (0, 59, 7 * 86400 + 1, "600"):
        body = {"name": "t", "kind": "amount_off", "amount_off": 5, "total_stock": 1, "lock_ttl_seconds": bad}
        assert gateway.post("/coupons/templates", body, headers=auth("merchant")).status_code == 400, bad


def test_the_shops_lock_ttl_holds_for_templates_without_their_own(gateway, auth, monkeypatch):
    merchant = auth("merchant")
    default = gateway.get("/coupons/settings", headers=merchant).json()
    assert default == {
        "lock_ttl_seconds": None,
        "effective_lock_ttl_seconds": 1800,
        "updated_at": None,
        "updated_by": None,
    }
    written = gateway.put(
        "/coupons/settings", {"lock_ttl_seconds": 120}, headers=auth("merchant", sub="m-ops")
    )
    assert written.status_code == 200, written
    assert (written.json()["effective_lock_ttl_seconds"], written.json()["updated_by"]) == (120, "m-ops")
    assert gateway.get("/coupons/settings", headers=merchant).json()["lock_ttl_seconds"] == 120

    follows = claimed(gateway, auth, sub="u1")
    own = claimed(gateway, auth, sub="u1", lock_ttl_seconds=900)
    templates = gateway.get("/coupons/templates", headers=merchant).json()["items"]
    assert sorted(t["lock_ttl_seconds"] for t in templates[:2]) == [120, 900]
    lock(gateway, auth, follows, "o-1")
    lock(gateway, auth, own, "o-1")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=130))
    assert lock(gateway, auth, follows, "o-2").json()["order_id"] == "o-2"  # the shop's 120 s lapsed
    refused = lock(gateway, auth, own, "o-2")  # its own 900 s still run
    assert refused.status_code == 409, refused

    cleared = gateway.put("/coupons/settings", {}, headers=merchant)
    assert cleared.json()["lock_ttl_seconds"] is None and cleared.json()["effective_lock_ttl_seconds"] == 1800
    # the shop's setting is the shop's: another shop still has the default
    other = gateway.get("/coupons/settings", headers=auth("merchant", shop="s2")).json()
    assert other["lock_ttl_seconds"] is None


def test_shop_settings_refuse_bad_values_and_other_roles(gateway, auth):
    for bad in ({"lock_ttl_seconds": 59}, {"lock_ttl_seconds": "600"}, {"lock_ttl": 600}):
        answer = gateway.put("/coupons/settings", bad, headers=auth("merchant"))
        assert answer.status_code == 400 and answer.json()["error"]["code"], (bad, answer)
    assert gateway.get("/coupons/settings", headers=auth("merchant")).json()["lock_ttl_seconds"] is None
    assert gateway.put("/coupons/settings", {}, headers=auth("customer")).status_code == 403
    assert gateway.get("/coupons/settings", headers=auth("storefront")).status_code == 403
