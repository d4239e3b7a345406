"""Codes, channels, QR codes and the program of /referral, through the in-process gateway."""

from __future__ import annotations

import io


def _decode(png_bytes: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png_bytes)))]


def test_a_customer_always_gets_the_same_code(gateway, auth):
    first = gateway.post("/referral/codes", headers=auth("customer", sub="alice"))
    again = gateway.post("/referral/codes", headers=auth("customer", sub="alice"))
    other = gateway.post("/referral/codes", headers=auth("customer", sub="bob"))
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.json() == again.json()
    code = first.json()["code"]
    assert first.json()["url"] == f"http://gateway.test/referral/r/s1/{code}"
    assert other.json()["code"] != code
    me = gateway.get("/referral/me", headers=auth("customer", sub="alice")).json()
    assert me["code"] == code and me["url"] == first.json()["url"]
    assert me["referred_count"] == 0 and me["converted_count"] == 0 and me["rewards"] == []


def test_a_referral_url_resolves_publicly_and_unknown_codes_are_404(gateway, auth, code_of):
    code = code_of("alice")
    response = gateway.get(f"/referral/r/s1/{code}")
    assert response.status_code == 200
    assert response.json() == {"shop": "s1", "code": code, "kind": "customer"}
    assert gateway.get(f"/referral/r/s2/{code}").status_code == 404
    assert gateway.get("/referral/r/s1/zzzzzzzzzz").json()["error"]["code"] == "not_found"


def test_channels_have_their_own_code_and_url_and_are_per_shop(gateway, auth, channel):
    counter = channel("store 12 counter")
    poster = channel("spring poster")
    assert counter["code"] != poster["code"] and counter["channel_id"] != poster["channel_id"]
    assert counter["url"].endswith(f"/referral/r/s1/{counter['code']}")
    assert counter["name"] == "store 12 counter" and counter["created_at"].endswith("Z")
    got = gateway.get(f"/referral/channels/{counter['channel_id']}", headers=auth("merchant"))
    assert got.status_code == 200 and got.json() == counter
    listed = gateway.get("/referral/channels", headers=auth("merchant")).json()
    assert sorted(c["channel_id"] for c in listed["items"]) == sorted(
        [counter["channel_id"], poster["channel_id"]]
    )
    assert listed["next_cursor"] is None
    other_shop = gateway.get(
        f"/referral/channels/{counter['channel_id']}", headers=auth("merchant", shop="s2")
    )
    assert other_shop.status_code == 404
    assert gateway.get("/referral/channels", headers=auth("merchant", shop="s2")).json()["items"] == []


def test_channel_qr_svg_decodes_to_the_channel_url(gateway, auth, channel):
    import resvg_py

    made = channel("spring poster")
    response = gateway.get(f"/referral/channels/{made['channel_id']}/qr.svg", headers=auth("merchant"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<svg" in svg
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg, background="#ffffff"))
    assert _decode(png) == [made["url"]]


def test_channel_qr_png_decodes_and_scale_is_bounded(gateway, auth, channel):
    made = channel("article 7")
    path = f"/referral/channels/{made['channel_id']}/qr.png"
    response = gateway.get(path, headers=auth("merchant", accept="image/png"))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert _decode(response.content) == [made["url"]]
    small = gateway.get(path + "?scale=2", headers=auth("merchant", accept="image/png"))
    assert len(small.content) < len(response.content)
    assert gateway.get(path + "?scale=0", headers=auth("merchant", accept="image/png")).status_code == 400
    assert gateway.get(path + "?scale=99", headers=auth("merchant")).status_code == 400


def test_qr_of_an_unknown_or_foreign_channel_is_404_and_customers_are_403(gateway, auth, channel):
    made = channel()
    path = f"/referral/channels/{made['channel_id']}/qr.svg"
    assert gateway.get(path, headers=auth("merchant", shop="s2")).status_code == 404
    assert gateway.get("/referral/channels/ch-nope/qr.svg", headers=auth("merchant")).status_code == 404
    assert gateway.get(path, headers=auth("customer")).status_code == 403
    assert gateway.get(path).status_code == 401


def test_channel_body_is_validated(gateway, auth):
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "ok", "extra": 1},
        {"name": 5},
    ):
        response = gateway.post("/referral/channels", body, headers=auth("merchant"))
        assert response.status_code == 400, (body, response)
        assert response.json()["error"]["code"] == "invalid_request"
    assert gateway.get("/referral/channels", headers=auth("merchant")).json()["items"] == []


def test_program_is_stored_and_returned(gateway, auth, program):
    body = program(min_order_amount=5000, cap=3)
    assert body["referrer_template_id"] == "t-referrer" and body["referee_template_id"] == "t-referee"
    assert body["min_order_amount"] == 5000 and body["max_rewards_per_referrer"] == 3
    got = gateway.get("/referral/program", headers=auth("merchant"))
    assert got.status_code == 200 and got.json() == body
    assert gateway.get("/referral/program", headers=auth("merchant", shop="s2")).status_code == 404


def test_program_bad_input_is_400(gateway, auth, templates_exist):
    good = {"referrer_template_id": "t1", "referee_template_id": "t2", "min_order_amount": 100}
    for bad in (
        {**good, "min_order_amount": -1},
        {**good, "min_order_amount": 10**13},
        {**good, "min_order_amount": "100"},
        {**good, "min_order_amount": 1.5},
        {**good, "max_rewards_per_referrer": 0},
        {**good, "referrer_template_id": "has space"},
        {**good, "bonus": True},
        {"referee_template_id": "t2"},
    ):
        response = gateway.put("/referral/program", bad, headers=auth("merchant"))
        assert response.status_code == 400, (bad, response)
    assert gateway.put("/referral/program", good, headers=auth("customer")).status_code == 403
    assert gateway.get("/referral/program", headers=auth("merchant")).status_code == 404


def test_program_with_a_missing_template_is_400_and_nothing_is_written(gateway, auth):
    body = {
        "referrer_template_id": "t-missing",
        "referee_template_id": "t-missing-too",
        "min_order_amount": 0,
    }
    response = gateway.put("/referral/program", body, headers=auth("merchant"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "t-missing" in error["message"]
    assert [d["loc"] for d in error["details"]] == [
        ["body", "referrer_template_id"],
        ["body", "referee_template_id"],
    ]
    assert gateway.get("/referral/program", headers=auth("merchant")).status_code == 404


def _coupon_template(gateway, auth, shop="s1"):
    body = {"name": "referral reward", "kind": "amount_off", "amount_off": 500, "total_stock": 10}
    response = gateway.post("/coupons/templates", body, headers=auth("merchant", shop=shop))
    assert response.status_code == 201, response
    return response.json()["template_id"]


def test_program_accepts_the_shops_own_coupon_templates_only(gateway, auth):
    mine, theirs = _coupon_template(gateway, auth), _coupon_template(gateway, auth, shop="s2")
    body = {"referrer_template_id": mine, "referee_template_id": mine, "min_order_amount": 100}
    response = gateway.put("/referral/program", body, headers=auth("merchant"))
    assert response.status_code == 200, response
    foreign = {**body, "referee_template_id": theirs}
    refused = gateway.put("/referral/program", foreign, headers=auth("merchant"))
    assert refused.status_code == 400
    assert [d["loc"] for d in refused.json()["error"]["details"]] == [["body", "referee_template_id"]]
    assert gateway.get("/referral/program", headers=auth("merchant")).json()["referee_template_id"] == mine


def test_every_referral_route_of_the_contract_is_documented(gateway):
    paths = gateway.get("/openapi.json").json()["paths"]
    contract = {
        ("/referral/program", "put", "200"),
        ("/referral/codes", "post", "201"),
        ("/referral/channels", "post", "201"),
        ("/referral/channels/{channel_id}/qr.svg", "get", "200"),
        ("/referral/visits", "post", "202"),
        ("/referral/signups", "post", "201"),
        ("/referral/me", "get", "200"),
        ("/referral/report", "get", "200"),
    }
    for path, method, status in contract:
        operation = paths[path][method]
        assert status in operation["responses"], (path, method)
    qr = paths["/referral/channels/{channel_id}/qr.svg"]["get"]["responses"]["200"]["content"]
    assert "image/svg+xml" in qr
    signup = paths["/referral/signups"]["post"]
    assert "409" in signup["responses"] and "requestBody" in signup
    report = paths["/referral/report"]["get"]
    assert {"limit", "cursor"} <= {p["name"] for p in report["parameters"]}
