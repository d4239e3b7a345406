"""Holes found under attack (hardening issue, items 3-6): idempotency keys mean one request,
bad input is a 4xx, one identity alphabet end to end, duplicate events, bound cursors."""

from __future__ import annotations

import json

import pytest

PAID = {
    "event_id": "e-1",
    "type": "order.paid",
    "order_id": "o-1",
    "customer_id": "c-1",
    "occurred_at": "2026-11-11T00:00:05Z",
    "lines": [
        {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_amount": 5000, "paid_amount": 9000}
    ],
}
TEMPLATE = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, "per_customer_limit": 1}


def _error(response, status, code):
    assert response.status_code == status, response
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def _template(gateway, auth, shop="s1", **extra):
    response = gateway.post("/coupons/templates", {**TEMPLATE, **extra}, headers=auth("merchant", shop, "m"))
    assert response.status_code == 201, response
    return response.json()["template_id"]


# ---- 3. idempotency keys mean one request ----------------------------------------------------


def test_a_key_reused_on_another_resource_is_another_request(gateway, auth):
    t1, t2 = _template(gateway, auth), _template(gateway, auth)
    headers = auth("customer", sub="c-1", **{"Idempotency-Key": "same"})
    first = gateway.post(f"/coupons/templates/{t1}/claim", headers=headers)
    second = gateway.post(f"/coupons/templates/{t2}/claim", headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["template_id"] == t1 and second.json()["template_id"] == t2
    assert first.json()["coupon_id"] != second.json()["coupon_id"]
    assert "idempotent-replayed" not in second.headers
    replay = gateway.post(f"/coupons/templates/{t1}/claim", headers=headers)
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"


def test_a_chosen_sub_cannot_reach_another_callers_record(gateway, auth):
    """Scopes are hashed from a JSON array: a sub containing the old separator is no longer a
    way into another caller's scope."""
    tid = _template(gateway, auth)
    key = {"Idempotency-Key": "k"}
    first = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", "s1", "a", **key))
    assert first.status_code == 201
    other = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", "s1", "a:b", **key))
    assert other.status_code == 201 and other.json()["customer_id"] == "a:b"
    assert other.json()["coupon_id"] != first.json()["coupon_id"]


def test_a_reformatted_body_is_the_same_request(gateway, auth):
    headers = auth("storefront", **{"Idempotency-Key": "fmt"})
    compact = json.dumps(PAID, separators=(",", ":")).encode()
    spaced = json.dumps(dict(reversed(list(PAID.items()))), indent=3).encode()
    first = gateway.post("/events/orders", body=compact, headers=headers)
    again = gateway.post("/events/orders", body=spaced, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"


def test_a_retried_record_write_is_recognised_as_its_own(gateway, auth, aws, monkeypatch):
    """The idempotency record's write committed, its answer was lost, and the retry met the
    record: before, that was 409 request_in_progress on the request's very first attempt."""
    from campaign_shared import aws as clients

    client = clients.dynamodb()
    real = client.put_item
    seen = []

    def applied_twice(**kwargs):
        if kwargs["TableName"].endswith("-idempotency") and not seen:
            seen.append(1)
            real(**kwargs)  # committed; the caller never heard
        return real(**kwargs)

    monkeypatch.setattr(client, "put_item", applied_twice)
    response = gateway.post("/events/orders", PAID, headers=auth("storefront", **{"Idempotency-Key": "lost"}))
    assert seen and response.status_code == 202, response


def test_a_failed_request_frees_its_key(gateway, auth, monkeypatch):
    """A 5xx is not stored: the record is deleted (retrying the delete), so the retry runs."""
    from botocore.exceptions import ClientError

    from campaign_shared import aws as clients
    from campaign_shared import messaging

    calls = []

    def publish_fails_once(topic, message):
        calls.append(1)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "Publish")
        return real_publish(topic, message)

    real_publish = messaging.publish
    monkeypatch.setattr(messaging, "publish", publish_fails_once)
    client = clients.dynamodb()
    real_delete, deletes = client.delete_item, []

    def delete_throttled_once(**kwargs):
        deletes.append(1)
        if len(deletes) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "DeleteItem")
        return real_delete(**kwargs)

    monkeypatch.setattr(client, "delete_item", delete_throttled_once)
    headers = auth("storefront", **{"Idempotency-Key": "retry-me"})
    _error(gateway.post("/events/orders", PAID, headers=headers), 503, "service_unavailable")
    retry = gateway.post("/events/orders", PAID, headers=headers)
    assert retry.status_code == 202 and "idempotent-replayed" not in retry.headers
    assert len(deletes) == 2 and len(calls) == 2


def test_in_progress_answers_when_to_retry(gateway, auth, monkeypatch):
    """A request meeting another live attempt's record gets 409 request_in_progress with a
    Retry-After of the seconds that record has left."""
    from campaign_shared import idempotency

    record = idempotency.record_id(
        service="events", shop="s1", sub="u1", method="POST", path="/orders", key="busy"
    )
    seen = {}

    def execute():
        # While the first attempt runs, a second one arrives.
        seen["second"] = gateway.post(
            "/events/orders", PAID, headers=auth("storefront", **{"Idempotency-Key": "busy"})
        )
        return {"body": {"ok": True}, "status": 202, "headers": {}}

    idempotency.run(
        service="events",
        record=record,
        fingerprint=idempotency.fingerprint(json.dumps(PAID).encode()),
        execute=execute,
        remaining_ms=20_000,
    )
    error = _error(seen["second"], 409, "request_in_progress")
    assert error and 15 <= int(seen["second"].headers["retry-after"]) <= 20


# ---- 4. bad input is a 4xx --------------------------------------------------------------------


def test_deeply_nested_json_is_400(gateway, auth):
    body = b'{"event_id": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    error = _error(
        gateway.post("/events/orders", body=body, headers=auth("storefront")), 400, "invalid_request"
    )
    assert "nests" in error["message"]
    body = b'{"a": ' + b'{"a": ' * 40 + b"1" + b"}" * 41
    _error(gateway.post("/coupons/templates", body=body, headers=auth("merchant")), 400, "invalid_request")


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1969-12-31T23:59:59Z"]
)
def test_out_of_range_times_are_400(gateway, auth, moment):
    _error(
        gateway.post("/events/orders", {**PAID, "occurred_at": moment}, headers=auth("storefront")),
        400,
        "invalid_request",
    )
    for field in ("valid_from", "valid_until"):
        response = gateway.post("/coupons/templates", {**TEMPLATE, field: moment}, headers=auth("merchant"))
        _error(response, 400, "invalid_request")
    response = gateway.post("/distribution/settlements", {"as_of": moment}, headers=auth("merchant"))
    _error(response, 400, "invalid_request")


@pytest.mark.parametrize("amount", ["100", 100.0, True])
def test_order_event_amounts_are_strict_integers(gateway, auth, amount):
    line = {**PAID["lines"][0], "paid_amount": amount}
    _error(
        gateway.post("/events/orders", {**PAID, "lines": [line]}, headers=auth("storefront")),
        400,
        "invalid_request",
    )
    line = {**PAID["lines"][0], "quantity": amount}
    _error(
        gateway.post("/events/orders", {**PAID, "lines": [line]}, headers=auth("storefront")),
        400,
        "invalid_request",
    )


def test_paid_amount_cannot_exceed_the_line_price(gateway, auth):
    line = {"line_id": "l", "product_id": "p", "quantity": 1, "unit_amount": 100, "paid_amount": 10**12}
    error = _error(
        gateway.post("/events/orders", {**PAID, "lines": [line]}, headers=auth("storefront")),
        400,
        "invalid_request",
    )
    assert "paid_amount" in error["message"]
    line = {"line_id": "l", "product_id": "p", "quantity": 1, "unit_amount": 10**12 + 1, "paid_amount": 1}
    _error(
        gateway.post("/events/orders", {**PAID, "lines": [line]}, headers=auth("storefront")),
        400,
        "invalid_request",
    )


def test_token_claims_are_typed(gateway):
    import time

    import jwt

    secret = "test-secret-0123456789"  # tests/conftest.py
    good = {"sub": "u1", "shop": "s1", "role": "customer", "exp": int(time.time()) + 600}
    for bad in ({"exp": str(good["exp"])}, {"sub": "   "}, {"sub": ""}, {"shop": "商店"}, {"sub": "a b"}):
        token = jwt.encode({**good, **bad}, secret, algorithm="HS256")
        response = gateway.get("/coupons/me", headers={"authorization": f"Bearer {token}"})
        _error(response, 401, "unauthorized")
    token = jwt.encode(good, secret, algorithm="HS256")
    assert gateway.get("/coupons/me", headers={"authorization": f"Bearer {token}"}).status_code == 200


# ---- 6. bound cursors ------------------------------------------------------------------------


def test_cursors_are_opaque_and_bound_to_route_and_caller(gateway, auth):
    import base64

    tid = _template(gateway, auth, total_stock=10, per_customer_limit=5)
    for _ in range(3):
        assert (
            gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="c-1")).status_code
            == 201
        )
    page = gateway.get("/coupons/me?limit=1", headers=auth("customer", sub="c-1")).json()
    cursor = page["next_cursor"]
    assert cursor
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert b"coupon" not in raw and b"c-1" not in raw  # the key cannot be read
    following = gateway.get(f"/coupons/me?limit=1&cursor={cursor}", headers=auth("customer", sub="c-1"))
    assert following.status_code == 200 and following.json()["items"][0] != page["items"][0]
    # Another caller, or another route, cannot use it.
    _error(
        gateway.get(f"/coupons/me?limit=1&cursor={cursor}", headers=auth("customer", sub="c-2")),
        400,
        "invalid_request",
    )
    _error(
        gateway.get(f"/wishlist/lists?limit=1&cursor={cursor}", headers=auth("customer", sub="c-1")),
        400,
        "invalid_request",
    )
