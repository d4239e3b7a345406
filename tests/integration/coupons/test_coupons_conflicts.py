"""``order.paid`` never redeems a coupon locked to another order, redeemed by another order or
expired: it records a conflict on the coupon (once per event), which the merchant reads; and a
redemption is counted on its stock shard exactly once, without a transaction."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from campaign_shared import clock, messaging

_events = iter(range(1, 10_000))


def coupon_of(gateway, auth, sub="u1", **overrides):
    body = {"name": "t", "kind": "amount_off", "amount_off": 1000, "total_stock": 10, **overrides}
    template = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()
    claimed = gateway.post(
        f"/coupons/templates/{template['template_id']}/claim", headers=auth("customer", sub=sub)
    )
    assert claimed.status_code == 201, claimed
    return template, claimed.json()


def lock(gateway, auth, coupon, order_id, sub="u1"):
    response = gateway.post(
        f"/coupons/{coupon['coupon_id']}/lock", {"order_id": order_id}, headers=auth("customer", sub=sub)
    )
    assert response.status_code == 200, response


def paid(coupon, order_id, event_id=None, occurred_at="2026-11-11T00:00:05Z", customer="u1"):
    return {
        "event_id": event_id or f"e-{next(_events)}",
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        "occurred_at": occurred_at,
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 9000, "paid_amount": 8000}
        ],
        "coupon_id": coupon["coupon_id"],
        "shop": "s1",
    }


def merchant_view(gateway, auth, coupon, customer="u1"):
    response = gateway.get(
        f"/coupons/customers/{customer}/coupons/{coupon['coupon_id']}", headers=auth("merchant")
    )
    assert response.status_code == 200, response
    return response.json()


def redeemed_count(gateway, auth, template):
    path = f"/coupons/templates/{template['template_id']}"
    return gateway.get(path, headers=auth("merchant")).json()["redeemed_count"]


def test_a_payment_of_another_order_does_not_take_a_locked_coupon_and_is_recorded(gateway, auth, drain):
    template, coupon = coupon_of(gateway, auth)
    lock(gateway, auth, coupon, "o-1")
    other = paid(coupon, "o-2", event_id="e-o2")
    assert gateway.post("/events/orders", other, headers=auth("storefront")).status_code == 202
    drain("coupons")
    seen = merchant_view(gateway, auth, coupon)
    assert (seen["status"], seen["order_id"]) == ("locked", "o-1")
    (conflict,) = seen["conflicts"]
    assert {k: conflict[k] for k in ("order_id", "reason", "event_id")} == {
        "order_id": "o-2",
        "reason": "locked_to_another_order",
        "event_id": "e-o2",
    }
    assert clock.parse(conflict["at"]) <= clock.now()
    assert redeemed_count(gateway, auth, template) == 0
    # The order it is locked to still redeems it; the conflict stays on the coupon.
    messaging.send("coupons", paid(coupon, "o-1"))
    drain("coupons")
    seen = merchant_view(gateway, auth, coupon)
    assert (seen["status"], seen["order_id"], len(seen["conflicts"])) == ("redeemed", "o-1", 1)
    assert redeemed_count(gateway, auth, template) == 1


def test_a_redelivered_conflicting_event_is_recorded_once(gateway, auth, drain):
    _, coupon = coupon_of(gateway, auth)
    lock(gateway, auth, coupon, "o-1")
    event = paid(coupon, "o-2", event_id="e-dup")
    for _ in range(3):
        messaging.send("coupons", event)
    drain("coupons")
    messaging.send("coupons", event)
    drain("coupons")
    assert [c["event_id"] for c in merchant_view(gateway, auth, coupon)["conflicts"]] == ["e-dup"]


def test_a_coupon_redeemed_by_another_order_stays_with_it(gateway, auth, drain):
    template, coupon = coupon_of(gateway, auth)
    messaging.send("coupons", paid(coupon, "o-1"))  # an available coupon: the payment redeems it
    drain("coupons")
    messaging.send("coupons", paid(coupon, "o-2", event_id="e-late"))
    messaging.send("coupons", paid(coupon, "o-1"))  # the redeeming order again: nothing to record
    drain("coupons")
    seen = merchant_view(gateway, auth, coupon)
    assert (seen["status"], seen["order_id"]) == ("redeemed", "o-1")
    assert [(c["order_id"], c["reason"], c["event_id"]) for c in seen["conflicts"]] == [
        ("o-2", "already_redeemed", "e-late")
    ]
    assert redeemed_count(gateway, auth, template) == 1


def test_an_expired_coupon_is_not_redeemed_even_by_the_order_it_was_locked_to(
    gateway, auth, drain, monkeypatch
):
    template, loose = coupon_of(gateway, auth, valid_days=1)
    _, locked = coupon_of(gateway, auth, valid_days=1)
    _, on_time = coupon_of(gateway, auth, valid_days=1)
    lock(gateway, auth, locked, "o-9")
    lock(gateway, auth, on_time, "o-7")
    paid_on_time = clock.iso(clock.now())
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    messaging.send("coupons", paid(loose, "o-1", event_id="e-loose", occurred_at=clock.iso(later)))
    messaging.send("coupons", paid(locked, "o-9", event_id="e-locked", occurred_at=clock.iso(later)))
    # Paid before the coupon expired, delivered after: the payment counts as of when it was made.
    messaging.send("coupons", paid(on_time, "o-7", occurred_at=paid_on_time))
    drain("coupons")
    seen = merchant_view(gateway, auth, loose)
    assert seen["status"] == "expired" and [c["reason"] for c in seen["conflicts"]] == ["expired"]
    seen = merchant_view(gateway, auth, locked)
    assert (seen["status"], seen["order_id"]) == ("expired", None)  # the order is done: lock released
    assert [(c["order_id"], c["reason"], c["event_id"]) for c in seen["conflicts"]] == [
        ("o-9", "expired", "e-locked")
    ]
    seen = merchant_view(gateway, auth, on_time)
    assert (seen["status"], seen["conflicts"]) == ("redeemed", [])
    assert redeemed_count(gateway, auth, template) == 0


def test_a_coupon_keeps_the_first_twenty_conflicts(gateway, auth, drain):
    _, coupon = coupon_of(gateway, auth)
    lock(gateway, auth, coupon, "o-1")
    for n in range(25):
        messaging.send("coupons", paid(coupon, f"o-x{n}", event_id=f"e-x{n}"))
    stats = drain("coupons")
    assert stats["coupons"]["failed"] == 0
    conflicts = merchant_view(gateway, auth, coupon)["conflicts"]
    assert len(conflicts) == 20 and {c["reason"] for c in conflicts} == {"locked_to_another_order"}


def test_merchants_read_a_customers_coupons_and_nobody_else_does(gateway, auth, drain):
    _, coupon = coupon_of(gateway, auth)
    lock(gateway, auth, coupon, "o-1")
    messaging.send("coupons", paid(coupon, "o-2"))
    drain("coupons")
    listed = gateway.get("/coupons/customers/u1/coupons", headers=auth("merchant"))
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["coupon_id"] == coupon["coupon_id"] and item["conflicts"][0]["order_id"] == "o-2"
    assert listed.json()["next_cursor"] is None
    assert gateway.get("/coupons/customers/nobody/coupons", headers=auth("merchant")).json()["items"] == []
    path = f"/coupons/customers/u1/coupons/{coupon['coupon_id']}"
    assert gateway.get(path, headers=auth("customer")).status_code == 403
    assert gateway.get(path, headers=auth("storefront")).status_code == 403
    assert gateway.get(path, headers=auth("merchant", shop="s2")).status_code == 404
    missing = gateway.get("/coupons/customers/u1/coupons/cp-nope", headers=auth("merchant"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (
        gateway.get(
            f"/coupons/customers/u2/coupons/{coupon['coupon_id']}", headers=auth("merchant")
        ).status_code
        == 404
    )
    paths = gateway.get("/openapi.json").json()["paths"]
    assert "get" in paths["/coupons/customers/{customer_id}/coupons/{coupon_id}"]
    assert "get" in paths["/coupons/customers/{customer_id}/coupons"]


# ---- counting a redemption exactly once, with single-item writes -------------------------


@pytest.fixture
def no_transactions():
    """Fail any TransactWriteItems the services make (moto copies the table for each)."""
    from campaign_shared import aws as clients

    def refuse(**_):
        raise AssertionError("TransactWriteItems called")

    events = clients.dynamodb().meta.events
    events.register("before-call.dynamodb.TransactWriteItems", refuse)
    yield
    events.unregister("before-call.dynamodb.TransactWriteItems", refuse)


def test_a_redemption_takes_no_transaction(gateway, auth, drain, no_transactions):
    template, coupon = coupon_of(gateway, auth)
    lock(gateway, auth, coupon, "o-1")
    messaging.send("coupons", paid(coupon, "o-1"))
    assert drain("coupons")["coupons"]["failed"] == 0
    assert merchant_view(gateway, auth, coupon)["status"] == "redeemed"
    assert redeemed_count(gateway, auth, template) == 1


def test_a_late_copy_that_counted_again_is_undone_by_the_next_delivery(gateway, auth, drain):
    from chalicelib.coupons.usecases import dynamo_stores

    stores = dynamo_stores()
    template, coupon = coupon_of(gateway, auth)
    event = paid(coupon, "o-1")
    messaging.send("coupons", event)
    drain("coupons")
    # A copy that read the coupon before it was settled counts again after the marker was cleared
    # and crashes before it could see its mistake.
    settled = stores.coupons.get("s1", "u1", coupon["coupon_id"])
    assert settled.counted_by and not settled.count_pending
    assert stores.stock.count_redemption("s1", settled, "late-copy")
    assert redeemed_count(gateway, auth, template) == 2
    messaging.send("coupons", event)  # its message comes back
    drain("coupons")
    assert redeemed_count(gateway, auth, template) == 1
    assert stores.stock.redeem_marker("s1", settled) is None


@pytest.mark.parametrize(
    ("where", "step"),
    [
        ("store.stock:DynamoStock", "count_redemption"),
        ("store.coupons:DynamoCoupons", "settle"),
        ("store.stock:DynamoStock", "clear_redemption"),
    ],
)
def test_a_crash_between_the_writes_of_a_redemption_still_counts_it_once(
    gateway, auth, drain, monkeypatch, where, step
):
    module, owner = where.split(":")
    store_orders = getattr(importlib.import_module(f"chalicelib.coupons.{module}"), owner)
    real = getattr(store_orders, step)
    calls = {"n": 0}

    def crash_after(*args, **kwargs):
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(f"crashed right after {step}")
        return result

    monkeypatch.setattr(store_orders, step, crash_after)
    template, coupon = coupon_of(gateway, auth)
    event = paid(coupon, "o-1")
    messaging.send("coupons", event)
    messaging.send("coupons", event)  # and a duplicate delivery
    stats = drain("coupons")
    assert stats["coupons"]["failed"] >= 1 and calls["n"] >= 1
    assert merchant_view(gateway, auth, coupon)["status"] == "redeemed"
    assert redeemed_count(gateway, auth, template) == 1
