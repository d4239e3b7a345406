"""Auth, the error envelope and idempotency, through the gateway's routing and Chalice."""

from __future__ import annotations

import pytest

from campaign_shared.auth import mint

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


def _error(response, status, code):
    assert response.status_code == status, response
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("service", ["coupons", "distribution", "wishlist", "referral", "events"])
def test_health_needs_no_token(gateway, service):
    response = gateway.get(f"/{service}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_no_token_is_401(gateway):
    _error(gateway.post("/events/orders", PAID), 401, "unauthorized")


def test_wrong_role_is_403(gateway, auth):
    _error(gateway.post("/events/orders", PAID, headers=auth("merchant")), 403, "forbidden")
    _error(gateway.post("/events/orders", PAID, headers=auth("customer")), 403, "forbidden")


def test_expired_foreign_and_garbage_tokens_are_401(gateway, token):
    expired = token("storefront", ttl=-10)
    foreign = mint(role="storefront", shop="s1", sub="x", secret="some-other-secret-123")
    for value in (f"Bearer {expired}", f"Bearer {foreign}", "Bearer abc.def.ghi", "Token xyz", "Bearer"):
        _error(gateway.post("/events/orders", PAID, headers={"authorization": value}), 401, "unauthorized")


def test_malformed_json_is_400(gateway, auth):
    error = _error(
        gateway.post("/events/orders", body=b'{"event_id": ', headers=auth("storefront")),
        400,
        "invalid_request",
    )
    assert error["details"]
    _error(gateway.post("/events/orders", body=b"[1, 2]", headers=auth("storefront")), 400, "invalid_request")
    _error(
        gateway.post("/events/orders", body=b"\xff\xfe", headers=auth("storefront")), 400, "invalid_request"
    )


def test_wrong_types_and_missing_fields_are_400_with_details(gateway, auth):
    error = _error(
        gateway.post("/events/orders", {**PAID, "lines": "many"}, headers=auth("storefront")),
        400,
        "invalid_request",
    )
    assert error["details"][0]["loc"][0] == "lines"
    missing = {k: v for k, v in PAID.items() if k != "order_id"}
    error = _error(
        gateway.post("/events/orders", missing, headers=auth("storefront")), 400, "invalid_request"
    )
    assert any(d["loc"] == ["order_id"] for d in error["details"])
    absurd = {**PAID, "lines": [{**PAID["lines"][0], "paid_amount": 10**15}]}
    _error(gateway.post("/events/orders", absurd, headers=auth("storefront")), 400, "invalid_request")


def test_unknown_routes_are_404_and_wrong_methods_405(gateway, auth):
    _error(gateway.get("/nowhere"), 404, "not_found")
    _error(gateway.get("/coupons/no/such/route", headers=auth("merchant")), 404, "not_found")
    _error(gateway.get("/"), 404, "not_found")
    _error(gateway.request("DELETE", "/events/orders", headers=auth("storefront")), 405, "method_not_allowed")


def test_body_over_6mb_is_413(gateway, auth):
    big = b'{"event_id": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    _error(gateway.post("/events/orders", body=big, headers=auth("storefront")), 413, "payload_too_large")


def test_idempotency_key_replays_first_response_and_refuses_other_bodies(gateway, auth, aws):
    headers = auth("storefront", **{"Idempotency-Key": "k-1"})
    first = gateway.post("/events/orders", PAID, headers=headers)
    again = gateway.post("/events/orders", PAID, headers=headers)
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    other = gateway.post("/events/orders", {**PAID, "event_id": "e-2"}, headers=headers)
    _error(other, 409, "idempotency_key_reused")
    # The same key from another caller is another request.
    assert (
        gateway.post(
            "/events/orders",
            {**PAID, "event_id": "e-3"},
            headers=auth("storefront", sub="st2", **{"Idempotency-Key": "k-1"}),
        ).status_code
        == 202
    )


def test_responses_carry_correlation_id_and_request_units(gateway, auth):
    response = gateway.post(
        "/events/orders", PAID, headers=auth("storefront", **{"X-Correlation-Id": "corr-1"})
    )
    assert response.headers["x-correlation-id"] == "corr-1"
    # A conditional create of the event's record, then its "published" mark: two writes.
    assert response.headers["x-request-units"].startswith("read=0;write=2;")


def test_storage_failure_is_503_with_retry_after(gateway, auth, monkeypatch):
    from botocore.exceptions import ClientError

    from campaign_shared import aws as aws_clients

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    monkeypatch.setattr(aws_clients.dynamodb(), "put_item", throttled)
    response = gateway.post("/events/orders", PAID, headers=auth("storefront"))
    _error(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"


def test_unexpected_error_is_500_envelope_without_trace(gateway, auth, monkeypatch):
    from campaign_shared import messaging

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(messaging, "publish", boom)
    response = gateway.post("/events/orders", PAID, headers=auth("storefront"))
    error = _error(response, 500, "internal_error")
    assert "secret" not in response.content.decode()
    assert error["message"] == "internal error"


def test_openapi_covers_every_route(gateway):
    doc = gateway.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/events/orders" in doc["paths"] and "/coupons/health" in doc["paths"]
    post = doc["paths"]["/events/orders"]["post"]
    assert post["x-roles"] == ["storefront"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.split("/")[-1] in doc["components"]["schemas"]
