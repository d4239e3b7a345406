"""Validate, lock, and the order events that redeem or release a coupon, in any order."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock, messaging


def setup_coupon(gateway, auth, sub="u1", **overrides):
    body = {
        "name": "t",
        "kind": "amount_off",
        "amount_off": 1000,
        "min_spend_amount": 5000,
        "total_stock": 10,
    }
    template = gateway.post("/coupons/templates", {**body, **overrides}, headers=auth("merchant")).json()
    coupon = gateway.post(
        f"/coupons/templates/{template['template_id']}/claim", headers=auth("customer", sub=sub)
    ).json()
    return template, coupon


def order_event(kind, coupon, order_id="o-1", event_id=None, customer="u1"):
    return {
        "event_id": event_id or f"{kind}-{order_id}",
        "type": kind,
        "order_id": order_id,
        "customer_id": customer,
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 9000, "paid_amount": 8000}
        ],
        "coupon_id": coupon["coupon_id"],
        "shop": "s1",
    }


def mine(gateway, auth, coupon_id, sub="u1"):
    items = gateway.get("/coupons/me", headers=auth("customer", sub=sub)).json()["items"]
    return next(c for c in items if c["coupon_id"] == coupon_id)


def redeemed_count(gateway, auth, template):
    return gateway.get(f"/coupons/templates/{template['template_id']}", headers=auth("merchant")).json()[
        "redeemed_count"
    ]


def validate(gateway, auth, coupon, lines, sub="u1", **extra):
    body = {"coupon_id": coupon["coupon_id"], "lines": lines, **extra}
    return gateway.post("/coupons/validate", body, headers=auth("customer", sub=sub))


def line(product="p-1", quantity=1, unit=1000):
    return {"product_id": product, "quantity": quantity, "unit_amount": unit}


def test_validate_reports_discount_and_reasons(gateway, auth):
    _, coupon = setup_coupon(gateway, auth, product_ids=["p-1"])
    ok = validate(gateway, auth, coupon, [line("p-1", 3, 2000), line("p-9", 1, 100000)])
    assert ok.status_code == 200
    assert ok.json() == {
        "coupon_id": coupon["coupon_id"],
        "valid": True,
        "discount_amount": 1000,
        "reason": None,
        "eligible_subtotal_amount": 6000,
    }
    below = validate(gateway, auth, coupon, [line("p-1", 1, 4999), line("p-9", 1, 100000)]).json()
    assert (below["valid"], below["reason"], below["discount_amount"]) == (False, "below_min_spend", 0)
    scope = validate(gateway, auth, coupon, [line("p-9", 1, 100000)]).json()
    assert (scope["valid"], scope["reason"]) == (False, "out_of_scope")


def test_percent_discount_is_floored_and_capped(gateway, auth):
    _, coupon = setup_coupon(
        gateway,
        auth,
        kind="percent_off",
        amount_off=None,
        percent_off=15,
        max_discount_amount=2000,
        min_spend_amount=0,
    )
    assert validate(gateway, auth, coupon, [line(unit=999)]).json()["discount_amount"] == 149  # 149.85 -> 149
    assert validate(gateway, auth, coupon, [line(quantity=10, unit=5000)]).json()["discount_amount"] == 2000


def test_discount_never_exceeds_the_subtotal(gateway, auth):
    _, coupon = setup_coupon(gateway, auth, amount_off=5000, min_spend_amount=0)
    result = validate(gateway, auth, coupon, [line(unit=300)]).json()
    assert (result["valid"], result["discount_amount"]) == (True, 300)


def test_validate_refuses_bad_input_and_other_customers_coupons(gateway, auth):
    _, coupon = setup_coupon(gateway, auth)
    assert validate(gateway, auth, coupon, [line(unit=-1)]).status_code == 400
    assert validate(gateway, auth, coupon, []).status_code == 400
    assert validate(gateway, auth, coupon, [line(quantity=0)]).status_code == 400
    assert validate(gateway, auth, coupon, [{**line(), "unit_amount": "5"}]).status_code == 400
    other = validate(gateway, auth, coupon, [line()], sub="c2")
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    body = {"coupon_id": coupon["coupon_id"], "lines": [line()]}
    assert gateway.post("/coupons/validate", body, headers=auth("customer", shop="s2")).status_code == 404


def test_lock_is_idempotent_per_order_and_409_for_another(gateway, auth):
    _, coupon = setup_coupon(gateway, auth)
    path = f"/coupons/{coupon['coupon_id']}/lock"
    first = gateway.post(path, {"order_id": "o-1"}, headers=auth("customer"))
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["order_id"]) == ("locked", "o-1")
    assert gateway.post(path, {"order_id": "o-1"}, headers=auth("customer")).status_code == 200
    other = gateway.post(path, {"order_id": "o-2"}, headers=auth("customer"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "not_available"
    assert gateway.post(path, {"order_id": "o-1"}, headers=auth("customer", sub="c2")).status_code == 404
    assert gateway.post(path, {"order_id": "o-1"}, headers=auth("customer", shop="s2")).status_code == 404
    assert gateway.post(path, {"order": "o-1"}, headers=auth("customer")).status_code == 400
    assert (
        gateway.post("/coupons/cp-unknown/lock", {"order_id": "o-1"}, headers=auth("customer")).status_code
        == 404
    )
    # A locked coupon applies only to its own order.
    cart = [line(unit=6000)]
    assert validate(gateway, auth, coupon, cart).json()["reason"] == "not_available"
    assert validate(gateway, auth, coupon, cart, order_id="o-1").json()["valid"] is True
    assert mine(gateway, auth, coupon["coupon_id"])["status"] == "locked"


def test_paid_redeems_once_even_when_delivered_twice(gateway, auth, drain):
    template, coupon = setup_coupon(gateway, auth)
    gateway.post(f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-1"}, headers=auth("customer"))
    paid = order_event("order.paid", coupon)
    assert gateway.post("/events/orders", paid, headers=auth("storefront")).status_code == 202
    messaging.send("coupons", paid)  # the same event redelivered
    stats = drain("coupons")
    assert stats["coupons"]["failed"] == 0
    redeemed = mine(gateway, auth, coupon["coupon_id"])
    assert (redeemed["status"], redeemed["order_id"]) == ("redeemed", "o-1")
    assert redeemed_count(gateway, auth, template) == 1
    # A redeemed coupon cannot be locked again, except as the same order's no-op.
    path = f"/coupons/{coupon['coupon_id']}/lock"
    assert gateway.post(path, {"order_id": "o-2"}, headers=auth("customer")).status_code == 409
    assert gateway.post(path, {"order_id": "o-1"}, headers=auth("customer")).json()["status"] == "redeemed"


def test_cancel_releases_a_locked_coupon(gateway, auth, drain):
    _, coupon = setup_coupon(gateway, auth)
    gateway.post(f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-1"}, headers=auth("customer"))
    gateway.post("/events/orders", order_event("order.cancelled", coupon), headers=auth("storefront"))
    drain("coupons")
    released = mine(gateway, auth, coupon["coupon_id"])
    assert released["status"] == "available" and released.get("order_id") is None
    relock = gateway.post(
        f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-2"}, headers=auth("customer")
    )
    assert relock.status_code == 200
    # A late copy of o-1's cancel does not release the lock of o-2.
    messaging.send("coupons", order_event("order.cancelled", coupon))
    drain("coupons")
    assert mine(gateway, auth, coupon["coupon_id"])["order_id"] == "o-2"


def test_cancel_and_paid_in_either_order_end_redeemed(gateway, auth, drain):
    for first, second in (("order.cancelled", "order.paid"), ("order.paid", "order.cancelled")):
        template, coupon = setup_coupon(gateway, auth)
        gateway.post(f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-1"}, headers=auth("customer"))
        messaging.send("coupons", order_event(first, coupon))
        drain("coupons")
        messaging.send("coupons", order_event(second, coupon))
        messaging.send("coupons", order_event(first, coupon))
        drain("coupons")
        final = mine(gateway, auth, coupon["coupon_id"])
        assert (final["status"], final["order_id"]) == ("redeemed", "o-1"), (first, second)
        assert redeemed_count(gateway, auth, template) == 1


def test_expiry_is_checked_on_read_and_use(gateway, auth, drain, monkeypatch):
    _, coupon = setup_coupon(gateway, auth, valid_days=1)
    _, locked = setup_coupon(gateway, auth, valid_days=1)
    gateway.post(f"/coupons/{locked['coupon_id']}/lock", {"order_id": "o-9"}, headers=auth("customer"))
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert mine(gateway, auth, coupon["coupon_id"])["status"] == "expired"
    assert validate(gateway, auth, coupon, [line(unit=9000)]).json()["reason"] == "expired"
    lock = gateway.post(f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-1"}, headers=auth("customer"))
    assert lock.status_code == 409 and lock.json()["error"]["code"] == "not_available"
    # Cancelling the order of an expired, locked coupon does not make it available again.
    messaging.send("coupons", order_event("order.cancelled", locked, order_id="o-9"))
    drain("coupons")
    assert mine(gateway, auth, locked["coupon_id"])["status"] == "expired"


def test_events_for_unknown_or_foreign_coupons_are_dropped(gateway, auth, drain, aws):
    _, coupon = setup_coupon(gateway, auth)
    messaging.send("coupons", order_event("order.paid", {"coupon_id": "cp-nope"}))
    messaging.send("coupons", {**order_event("order.paid", coupon), "shop": "s2"})
    messaging.send("coupons", order_event("order.paid", coupon, customer="c2"))
    messaging.send("coupons", {"type": "order.paid", "event_id": "broken"})  # malformed: retried, then DLQ
    stats = drain("coupons")
    assert stats["coupons"]["messages"] >= 4
    assert mine(gateway, auth, coupon["coupon_id"])["status"] == "available"
    queues = aws["resources"]["queues"]["coupons"]
    dead = aws["sqs"].receive_message(QueueUrl=queues["dlq_url"], MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ['{"type":"order.paid","event_id":"broken"}']
