"""CORS through the gateway, with real preflight requests: the route layer answers them from
the campaign's allowed origins (``campaign_shared.cors``), as it does behind API Gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SHOP = "https://shop.example.com"
OTHER = "https://evil.example.com"


@pytest.fixture
def allowed(aws: Any) -> Iterator[None]:
    from campaign_shared.settings import configure, get_settings

    before = get_settings()
    configure(before.model_copy(update={"cors_allow_origins": (SHOP, "http://localhost:3000")}))
    yield
    configure(before)


def preflight(gateway: Any, path: str, origin: str, method: str = "POST", **extra: str) -> Any:
    headers = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    return gateway.request("OPTIONS", path, headers=headers)


def test_a_preflight_from_an_allowed_origin_is_granted_the_routes_methods_and_headers(
    gateway: Any, allowed: None
) -> None:
    answer = preflight(
        gateway,
        "/coupons/templates",
        SHOP,
        **{"Access-Control-Request-Headers": "authorization,idempotency-key"},
    )
    assert answer.status_code == 204 and answer.content == b""
    headers = answer.headers
    assert headers["access-control-allow-origin"] == SHOP
    assert headers["access-control-allow-methods"] == "GET, OPTIONS, POST"
    allowed_headers = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed_headers
    assert headers["access-control-max-age"] == "600"
    assert headers["vary"] == "Origin"
    assert headers["allow"] == "GET, OPTIONS, POST"
    # a path with parameters, another service
    answer = preflight(gateway, "/wishlist/lists/l1/items/i1", "http://localhost:3000", method="DELETE")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "DELETE" in answer.headers["access-control-allow-methods"]


def test_an_origin_not_in_the_list_gets_no_cors_grant(gateway: Any, allowed: None) -> None:
    for origin in (OTHER, SHOP + ".evil.com", "http://shop.example.com"):
        answer = preflight(gateway, "/coupons/templates", origin)
        assert answer.status_code == 204
        assert not [h for h in answer.headers if h.startswith("access-control-")], answer.headers
        assert answer.headers["allow"] == "GET, OPTIONS, POST"
        answer = gateway.get("/coupons/health", headers={"Origin": origin})
        assert answer.status_code == 200
        assert not [h for h in answer.headers if h.startswith("access-control-")]
        assert answer.headers["vary"] == "Origin"


def test_a_method_the_route_does_not_have_is_not_granted(gateway: Any, allowed: None) -> None:
    answer = preflight(gateway, "/coupons/templates", SHOP, method="DELETE")
    assert answer.status_code == 204
    assert "access-control-allow-origin" not in answer.headers


def test_answers_and_errors_to_an_allowed_origin_carry_the_grant_and_expose_the_headers(
    gateway: Any, allowed: None, auth: Any
) -> None:
    ok = gateway.get("/coupons/health", headers={"Origin": SHOP})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert ok.headers["vary"] == "Origin"
    exposed = {h.strip() for h in ok.headers["access-control-expose-headers"].split(",")}
    assert {"X-Request-Id", "X-Request-Units", "Retry-After", "Idempotent-Replayed"} <= exposed
    # a 401 from the route layer, a 404 from the gateway itself: both readable by the page
    denied = gateway.get("/coupons/templates", headers={"Origin": SHOP})
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == SHOP
    missing = gateway.get("/nowhere/at/all", headers={"Origin": SHOP})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == SHOP
    # a write with a token and an idempotency key, then its replay: both granted
    headers = {**auth("merchant", "s1", "m1"), "Origin": SHOP, "Idempotency-Key": "cors-k1"}
    body = {"name": "CORS", "kind": "amount_off", "amount_off": 100, "total_stock": 5}
    first = gateway.post("/coupons/templates", json_body=body, headers=headers)
    again = gateway.post("/coupons/templates", json_body=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), (first, again)
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["template_id"] == again.json()["template_id"]
    assert again.headers["access-control-allow-origin"] == SHOP


def test_without_allowed_origins_nothing_is_granted(gateway: Any) -> None:
    answer = preflight(gateway, "/coupons/templates", SHOP)
    assert answer.status_code == 204 and answer.headers["allow"] == "GET, OPTIONS, POST"
    assert not [h for h in answer.headers if h.startswith("access-control-") or h == "vary"]
    answer = gateway.get("/coupons/health", headers={"Origin": SHOP})
    assert not [h for h in answer.headers if h.startswith("access-control-") or h == "vary"]


def test_options_on_an_unknown_route_is_404_in_the_envelope(gateway: Any, allowed: None) -> None:
    answer = preflight(gateway, "/coupons/nowhere/at/all", SHOP)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
