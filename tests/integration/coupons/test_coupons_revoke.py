"""coupon.revoke: a granted coupon is voided only while unused, answered once per grant."""

from __future__ import annotations

import json

from campaign_shared import messaging


def _template(gateway, auth):
    body = {
        "name": "thanks",
        "kind": "amount_off",
        "amount_off": 500,
        "total_stock": 10,
        "per_customer_limit": 5,
    }
    response = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert response.status_code == 201, response
    return response.json()["template_id"]


def _replies(aws):
    url = aws["resources"]["queues"]["referral"]["url"]
    out = []
    while True:
        batch = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        for m in batch:
            out.append(json.loads(m["Body"]))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _granted(gateway, auth, aws, drain, tid, customer, grant_id):
    messaging.send(
        "coupons",
        {
            "type": "coupon.grant",
            "grant_id": grant_id,
            "shop": "s1",
            "template_id": tid,
            "customer_id": customer,
            "reply_to": "referral",
        },
    )
    drain("coupons")
    (result,) = _replies(aws)
    assert result["status"] == "issued", result
    return result["coupon_id"]


def _revoke(grant_id, customer, **extra):
    return {
        "type": "coupon.revoke",
        "grant_id": grant_id,
        "shop": "s1",
        "customer_id": customer,
        "reason": "converting_order_refunded",
        "reply_to": "referral",
        **extra,
    }


def _wallet(gateway, auth, customer):
    response = gateway.get("/coupons/me", headers=auth("customer", sub=customer))
    assert response.status_code == 200, response
    return {c["coupon_id"]: c for c in response.json()["items"]}


def test_an_unused_granted_coupon_is_revoked_once_and_can_no_longer_be_used(gateway, auth, aws, drain):
    tid = _template(gateway, auth)
    coupon_id = _granted(gateway, auth, aws, drain, tid, "bob", "g-1")
    for _ in range(3):  # redelivered, repeated: the same answer
        messaging.send("coupons", _revoke("g-1", "bob"))
    drain("coupons")
    replies = _replies(aws)
    assert len(replies) == 3
    assert {(r["type"], r["grant_id"], r["status"], r["coupon_id"], r["reason"]) for r in replies} == {
        ("coupon.revoke_result", "g-1", "revoked", coupon_id, None)
    }
    wallet = _wallet(gateway, auth, "bob")
    assert wallet[coupon_id]["status"] == "revoked"
    bob = auth("customer", sub="bob")
    lines = [{"product_id": "p-1", "quantity": 1, "unit_amount": 5000}]
    checked = gateway.post("/coupons/validate", {"coupon_id": coupon_id, "lines": lines}, headers=bob)
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert checked.json()["reason"] == "not_available"
    locked = gateway.post(f"/coupons/{coupon_id}/lock", {"order_id": "o-9"}, headers=bob)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "not_available"


def test_a_used_coupon_is_not_revoked(gateway, auth, aws, drain):
    tid = _template(gateway, auth)
    locked_id = _granted(gateway, auth, aws, drain, tid, "bob", "g-locked")
    redeemed_id = _granted(gateway, auth, aws, drain, tid, "bob", "g-redeemed")
    bob = auth("customer", sub="bob")
    assert gateway.post(f"/coupons/{locked_id}/lock", {"order_id": "o-1"}, headers=bob).status_code == 200
    messaging.send(
        "coupons",
        {
            "event_id": "e-1",
            "type": "order.paid",
            "order_id": "o-2",
            "customer_id": "bob",
            "occurred_at": "2026-11-11T00:00:05Z",
            "coupon_id": redeemed_id,
            "shop": "s1",
            "lines": [
                {"line_id": "l", "product_id": "p", "quantity": 1, "unit_amount": 900, "paid_amount": 400}
            ],
        },
    )
    drain("coupons")
    messaging.send("coupons", _revoke("g-locked", "bob"))
    messaging.send("coupons", _revoke("g-redeemed", "bob"))
    drain("coupons")
    answers = {r["grant_id"]: (r["status"], r["reason"]) for r in _replies(aws)}
    assert answers == {"g-locked": ("failed", "coupon_used"), "g-redeemed": ("failed", "coupon_used")}
    wallet = _wallet(gateway, auth, "bob")
    assert (wallet[locked_id]["status"], wallet[redeemed_id]["status"]) == ("locked", "redeemed")


def test_a_revoke_of_a_grant_that_issued_nothing_fails_and_malformed_ones_dead_letter(
    gateway, auth, aws, drain
):
    tid = _template(gateway, auth)
    _granted(gateway, auth, aws, drain, tid, "bob", "g-1")
    messaging.send("coupons", _revoke("g-unknown", "bob"))
    messaging.send("coupons", _revoke("g-1", "mallory"))  # not the grant's customer
    messaging.send("coupons", {**_revoke("g-1", "bob"), "shop": "s2"})  # another shop
    messaging.send("coupons", _revoke("g-1", "bob", reply_to=None))  # nobody to answer: still revoked
    messaging.send("coupons", {"type": "coupon.revoke", "grant_id": 5})
    drain("coupons")
    answers = sorted(
        (r["grant_id"], r["customer_id"], r["shop"], r["status"], r["reason"]) for r in _replies(aws)
    )
    assert answers == [
        ("g-1", "bob", "s2", "failed", "not_issued"),
        ("g-1", "mallory", "s1", "failed", "not_issued"),
        ("g-unknown", "bob", "s1", "failed", "not_issued"),
    ]
    assert [c["status"] for c in _wallet(gateway, auth, "bob").values()] == ["revoked"]
    dlq = aws["resources"]["queues"]["coupons"]["dlq_url"]
    dead = aws["sqs"].receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]).get("grant_id") for m in dead] == [5]


def test_a_coupon_whose_lock_lapsed_is_revoked(gateway, auth, aws, drain, monkeypatch):
    from datetime import timedelta

    from campaign_shared import clock

    tid = _template(gateway, auth)
    coupon_id = _granted(gateway, auth, aws, drain, tid, "carol", "g-lapsed")
    carol = auth("customer", sub="carol")
    assert (
        gateway.post(f"/coupons/{coupon_id}/lock", {"order_id": "o-dummy"}, headers=carol).status_code == 200
    )
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))  # past the default 1,800 s
    messaging.send("coupons", _revoke("g-lapsed", "carol"))
    drain("coupons")
    answers = {r["grant_id"]: (r["status"], r["reason"]) for r in _replies(aws)}
    assert answers["g-lapsed"] == ("revoked", None)
    assert _wallet(gateway, auth, "carol")[coupon_id]["status"] == "revoked"
