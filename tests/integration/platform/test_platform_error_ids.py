"""Every error carries the request's id (in the envelope and in ``X-Request-Id``), a 400 names
the input it refused (``param``), and a 401 says how to authenticate (``WWW-Authenticate``)."""

from __future__ import annotations


def test_a_validation_error_names_its_param_and_carries_the_request_id(gateway, auth):
    body = {"name": "t", "kind": "amount_off", "amount_off": "500", "total_stock": 1}
    answer = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_request", "amount_off")
    assert error["request_id"] and error["request_id"] == answer.headers["x-request-id"]

    malformed = gateway.post("/coupons/templates", [1, 2], headers=auth("merchant"))  # not an object
    assert malformed.status_code == 400 and malformed.json()["error"]["param"] == "body"
    query = gateway.get("/coupons/templates?limit=0", headers=auth("merchant"))
    assert query.status_code == 400 and query.json()["error"]["param"] == "limit", query.json()


def test_other_errors_carry_a_request_id_and_no_param(gateway, auth):
    missing = gateway.get("/coupons/templates/tpl-nope", headers=auth("merchant"))
    assert missing.status_code == 404
    assert "param" not in missing.json()["error"] and missing.json()["error"]["request_id"]
    ok = gateway.get("/coupons/health")
    assert ok.status_code == 200 and ok.headers["x-request-id"] and "error" not in ok.json()


def test_a_401_says_how_to_authenticate(gateway, auth):
    none = gateway.get("/coupons/me")
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == 'Bearer realm="campaign"'
    bad = gateway.get("/coupons/me", headers={"authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    challenge = bad.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="campaign", error="invalid_token", error_description="')
    assert bad.json()["error"]["request_id"] == bad.headers["x-request-id"]
