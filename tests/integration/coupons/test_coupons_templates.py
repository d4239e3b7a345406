"""Templates, claims, the wallet and lucky packs through the gateway (in-process moto)."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock

AMOUNT_OFF = {
    "name": "10 off 100",
    "kind": "amount_off",
    "amount_off": 1000,
    "min_spend_amount": 10000,
    "total_stock": 5,
}


def create(gateway, auth, shop="s1", **overrides):
    response = gateway.post(
        "/coupons/templates", {**AMOUNT_OFF, **overrides}, headers=auth("merchant", shop=shop)
    )
    assert response.status_code == 201, response
    return response.json()


def claim(gateway, auth, template_id, sub="c1", shop="s1"):
    return gateway.post(
        f"/coupons/templates/{template_id}/claim", headers=auth("customer", shop=shop, sub=sub)
    )


def test_create_and_read_a_template_with_counts(gateway, auth):
    template = create(gateway, auth, product_ids=["p-1", "p-2"], valid_days=7)
    assert template["template_id"].startswith("tpl-")
    assert template["kind"] == "amount_off" and template["amount_off"] == 1000
    assert template["per_customer_limit"] == 1 and template["currency"] == "CNY"
    assert (template["issued_count"], template["redeemed_count"], template["remaining_stock"]) == (0, 0, 5)
    assert claim(gateway, auth, template["template_id"]).status_code == 201
    read = gateway.get(f"/coupons/templates/{template['template_id']}", headers=auth("merchant"))
    assert read.status_code == 200
    body = read.json()
    assert (body["issued_count"], body["redeemed_count"], body["remaining_stock"]) == (1, 0, 4)
    assert body["product_ids"] == ["p-1", "p-2"] and body["state"] == "active"


def test_claim_returns_an_available_coupon_with_the_discount_terms(gateway, auth):
    template = create(gateway, auth, valid_days=3)
    response = claim(gateway, auth, template["template_id"])
    assert response.status_code == 201, response
    coupon = response.json()
    assert coupon["status"] == "available" and coupon["customer_id"] == "c1"
    assert coupon["template_id"] == template["template_id"]
    assert coupon["amount_off"] == 1000 and coupon["min_spend_amount"] == 10000
    expires = clock.parse(coupon["expires_at"])
    assert timedelta(days=3) - timedelta(minutes=1) < expires - clock.now() <= timedelta(days=3)
    assert coupon.get("order_id") is None


def test_stock_and_per_customer_limit_are_409s(gateway, auth):
    template = create(gateway, auth, total_stock=2, per_customer_limit=2)
    tid = template["template_id"]
    assert claim(gateway, auth, tid, "a").status_code == 201
    assert claim(gateway, auth, tid, "a").status_code == 201
    limited = claim(gateway, auth, tid, "a")
    assert limited.status_code == 409 and limited.json()["error"]["code"] == "per_customer_limit_reached"
    sold = claim(gateway, auth, tid, "b")
    assert sold.status_code == 409 and sold.json()["error"]["code"] == "sold_out"
    body = gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()
    assert (body["issued_count"], body["remaining_stock"]) == (2, 0)


def test_whole_stock_is_issued_across_shards(gateway, auth):
    template = create(gateway, auth, total_stock=7)  # 4 shards of 2, 2, 2, 1
    won = [claim(gateway, auth, template["template_id"], f"c{i}").status_code for i in range(12)]
    assert won.count(201) == 7 and won.count(409) == 5
    assert won[:7] == [201] * 7


def test_claim_outside_the_window_is_not_active(gateway, auth):
    later = clock.iso(clock.now() + timedelta(days=1))
    much_later = clock.iso(clock.now() + timedelta(days=2))
    template = create(gateway, auth, valid_from=later, valid_until=much_later)
    response = claim(gateway, auth, template["template_id"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_active"
    assert template["state"] == "scheduled"


def test_coupon_expires_with_the_window_when_no_valid_days(gateway, auth):
    until = clock.now() + timedelta(hours=5)
    template = create(gateway, auth, valid_until=clock.iso(until))
    coupon = claim(gateway, auth, template["template_id"]).json()
    assert coupon["expires_at"] == clock.iso(until)


def test_templates_are_per_shop(gateway, auth):
    template = create(gateway, auth, shop="s1")
    tid = template["template_id"]
    assert gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant", shop="s2")).status_code == 404
    response = claim(gateway, auth, tid, shop="s2")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert gateway.get("/coupons/templates/tpl-nope", headers=auth("merchant")).status_code == 404


def test_roles_are_enforced(gateway, auth):
    assert gateway.post("/coupons/templates", AMOUNT_OFF, headers=auth("customer")).status_code == 403
    template = create(gateway, auth)
    assert claim(gateway, auth, template["template_id"], shop="s1").status_code == 201
    merchant_claim = gateway.post(
        f"/coupons/templates/{template['template_id']}/claim", headers=auth("merchant")
    )
    assert merchant_claim.status_code == 403
    assert gateway.get("/coupons/me", headers=auth("merchant")).status_code == 403
    assert gateway.post("/coupons/templates", AMOUNT_OFF).status_code == 401


BAD_TEMPLATES = [
    {"total_stock": 0},
    {"total_stock": -5},
    {"total_stock": 10_000_001},
    {"kind": "percent_off", "amount_off": None, "percent_off": 0},
    {"kind": "percent_off", "amount_off": None, "percent_off": 100},
    {"kind": "percent_off", "percent_off": 10},  # amount_off not allowed with percent_off
    {"kind": "lucky", "amount_off": None, "lucky_total_amount": 4},  # less than total_stock 5
    {"kind": "lucky", "amount_off": None},
    {"amount_off": None},
    {"amount_off": -1},
    {"amount_off": 1.5},
    {"amount_off": "1000"},
    {"min_spend_amount": -1},
    {"per_customer_limit": 0},
    {"valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"},
    {"valid_until": "2020-01-01T00:00:00Z"},
    {"valid_until": "tomorrow"},
    {"valid_until": "2030-02-30T00:00:00Z"},
    {"valid_days": 0},
    {"product_ids": []},
    {"product_ids": ["p-1", "p-1"]},
    {"name": ""},
    {"surprise": True},
    {"kind": "bogus"},
]


def test_bad_templates_are_400_and_write_nothing(gateway, auth, aws):
    for overrides in BAD_TEMPLATES:
        body = {k: v for k, v in {**AMOUNT_OFF, **overrides}.items() if v is not None}
        response = gateway.post("/coupons/templates", body, headers=auth("merchant"))
        assert response.status_code == 400, (overrides, response)
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["message"], overrides
    table = "campaign-test-coupons-main"
    assert aws["dynamodb"].scan(TableName=table, Select="COUNT")["Count"] == 0


def test_malformed_json_is_400(gateway, auth):
    response = gateway.request("POST", "/coupons/templates", body=b"{nope", headers=auth("merchant"))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_percent_off_template(gateway, auth):
    template = create(
        gateway, auth, kind="percent_off", amount_off=None, percent_off=15, max_discount_amount=500
    )
    assert (template["percent_off"], template["max_discount_amount"], template["amount_off"]) == (
        15,
        500,
        None,
    )
    coupon = claim(gateway, auth, template["template_id"]).json()
    assert (coupon["kind"], coupon["percent_off"], coupon["max_discount_amount"]) == ("percent_off", 15, 500)


def test_lucky_pack_amounts_add_up_and_are_auditable(gateway, auth):
    template = create(gateway, auth, kind="lucky", amount_off=None, lucky_total_amount=888, total_stock=6)
    tid = template["template_id"]
    coupons = [claim(gateway, auth, tid, f"c{i}").json() for i in range(6)]
    amounts = [c["amount_off"] for c in coupons]
    assert sum(amounts) == 888 and min(amounts) >= 1
    audit = gateway.get(f"/coupons/templates/{tid}/lucky-amounts?limit=4", headers=auth("merchant")).json()
    rest = gateway.get(
        f"/coupons/templates/{tid}/lucky-amounts?cursor={audit['next_cursor']}", headers=auth("merchant")
    ).json()
    drawn = [i["amount"] for i in audit["items"] + rest["items"]]
    assert rest["next_cursor"] is None and len(drawn) == 6 and audit["total_amount"] == 888
    assert sorted(drawn) == sorted(amounts)
    for forged in ("abc", "4"):  # opaque: a bare slot number is not a cursor
        bad_cursor = gateway.get(
            f"/coupons/templates/{tid}/lucky-amounts?cursor={forged}", headers=auth("merchant")
        )
        assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["code"] == "invalid_request"
    plain = create(gateway, auth)["template_id"]
    assert (
        gateway.get(f"/coupons/templates/{plain}/lucky-amounts", headers=auth("merchant")).status_code == 404
    )


def test_a_retried_claim_with_the_same_idempotency_key_returns_the_same_coupon(gateway, auth):
    tid = create(gateway, auth, per_customer_limit=3)["template_id"]
    headers = auth("customer", sub="retry", **{"idempotency-key": "k-1"})
    first = gateway.post(f"/coupons/templates/{tid}/claim", headers=headers)
    again = gateway.post(f"/coupons/templates/{tid}/claim", headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["coupon_id"] == again.json()["coupon_id"]
    assert len(gateway.get("/coupons/me", headers=auth("customer", sub="retry")).json()["items"]) == 1


def test_my_coupons_lists_only_mine_with_paging(gateway, auth):
    ids = []
    for _ in range(3):
        template = create(gateway, auth)
        ids.append(claim(gateway, auth, template["template_id"], "me").json()["coupon_id"])
    claim(gateway, auth, create(gateway, auth)["template_id"], "someone-else")
    first = gateway.get("/coupons/me?limit=2", headers=auth("customer", sub="me"))
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    second = gateway.get(
        f"/coupons/me?limit=2&cursor={page['next_cursor']}", headers=auth("customer", sub="me")
    )
    listed = [c["coupon_id"] for c in page["items"] + second.json()["items"]]
    assert listed == ids and second.json()["next_cursor"] is None
    assert gateway.get("/coupons/me?limit=500", headers=auth("customer", sub="me")).status_code == 400
    assert gateway.get("/coupons/me?cursor=forged", headers=auth("customer", sub="me")).status_code == 400
    other_shop = gateway.get("/coupons/me", headers=auth("customer", shop="s2", sub="me")).json()
    assert other_shop["items"] == []
