"""/referral on the local stack over real HTTP, with the real coupons service issuing rewards.

Each test uses a shop of its own, so the session's stack can be shared with other tests.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.e2e


def _shop() -> str:
    return f"ref-{uuid.uuid4().hex[:12]}"


def _ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.text)
    return (
        response.json()
        if response.content and "json" in response.headers.get("content-type", "")
        else response
    )


def _template(stack_url, http, bearer, shop: str, name: str, stock: int = 100) -> str:
    body = {
        "name": name,
        "kind": "amount_off",
        "amount_off": 500,
        "min_spend_amount": 0,
        "total_stock": stock,
        "per_customer_limit": 100,
        "valid_days": 30,
    }
    return _ok(http.post(f"{stack_url}/coupons/templates", json=body, headers=bearer("merchant", shop)), 201)[
        "template_id"
    ]


def _paid(
    order_id: str, customer: str, amount: int, *, event_id: str | None = None, code: str | None = None
) -> dict:
    body = {
        "event_id": event_id or f"e-{uuid.uuid4().hex}",
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        # placed now: after the signups of these tests (an order placed before a signup voids it)
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currency": "CNY",
        "lines": [
            {
                "line_id": "l-1",
                "product_id": "p-1",
                "quantity": 1,
                "unit_amount": amount,
                "paid_amount": amount,
            }
        ],
    }
    if code:
        body["referral_code"] = code
    return body


def _refund(order_id: str, customer: str, refund_id: str, amount: int) -> dict:
    return {
        "event_id": f"e-{uuid.uuid4().hex}",
        "type": "order.refunded",
        "order_id": order_id,
        "customer_id": customer,
        "occurred_at": "2026-11-12T00:00:00Z",
        "refund": {"refund_id": refund_id, "lines": [{"line_id": "l-1", "amount": amount}]},
    }


def test_channel_qr_code_decodes_back_to_its_url(stack_url, http, bearer):
    import resvg_py
    import zxingcpp
    from PIL import Image

    shop = _shop()
    channel = _ok(
        http.post(
            f"{stack_url}/referral/channels",
            json={"name": "store 12 counter"},
            headers=bearer("merchant", shop),
        ),
        201,
    )
    assert channel["url"].startswith(stack_url + "/referral/r/")
    response = http.get(
        f"{stack_url}/referral/channels/{channel['channel_id']}/qr.svg", headers=bearer("merchant", shop)
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/svg+xml"
    png = bytes(resvg_py.svg_to_bytes(svg_string=response.text, background="#ffffff"))
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == [channel["url"]]
    # the URL it encodes resolves on the stack
    resolved = _ok(http.get(decoded[0]))
    assert resolved == {"shop": shop, "code": channel["code"], "kind": "channel"}


def test_conversion_yields_exactly_one_coupon_per_side_when_paid_is_posted_three_times(
    stack_url, http, bearer, wait_until
):
    shop = _shop()
    referrer_t = _template(stack_url, http, bearer, shop, "thanks for the referral")
    referee_t = _template(stack_url, http, bearer, shop, "welcome")
    program = {"referrer_template_id": referrer_t, "referee_template_id": referee_t, "min_order_amount": 5000}
    _ok(http.put(f"{stack_url}/referral/program", json=program, headers=bearer("merchant", shop)))
    code = _ok(http.post(f"{stack_url}/referral/codes", headers=bearer("customer", shop, "alice")), 201)[
        "code"
    ]
    _ok(
        http.post(
            f"{stack_url}/referral/signups", json={"code": code}, headers=bearer("customer", shop, "bob")
        ),
        201,
    )
    paid = _paid("o-1", "bob", 6000)
    for event_id in (paid["event_id"], f"e-{uuid.uuid4().hex}", f"e-{uuid.uuid4().hex}"):
        accepted = http.post(
            f"{stack_url}/events/orders",
            json={**paid, "event_id": event_id},
            headers=bearer("storefront", shop),
        )
        assert accepted.status_code == 202, accepted.text

    def issued(customer: str):
        me = _ok(http.get(f"{stack_url}/referral/me", headers=bearer("customer", shop, customer)))
        return me if me["rewards"] and all(r["status"] == "issued" for r in me["rewards"]) else None

    alice = wait_until(lambda: issued("alice"), timeout=30)
    bob = wait_until(lambda: issued("bob"), timeout=30)
    assert [(r["side"], r["template_id"]) for r in alice["rewards"]] == [("referrer", referrer_t)]
    assert [(r["side"], r["template_id"]) for r in bob["rewards"]] == [("referee", referee_t)]
    assert (alice["referred_count"], alice["converted_count"]) == (1, 1)

    def coupons(customer: str) -> list[dict]:
        return _ok(http.get(f"{stack_url}/coupons/me", headers=bearer("customer", shop, customer)))["items"]

    alice_coupons, bob_coupons = coupons("alice"), coupons("bob")
    assert [c["template_id"] for c in alice_coupons] == [referrer_t]
    assert [c["template_id"] for c in bob_coupons] == [referee_t]
    assert alice_coupons[0]["coupon_id"] == alice["rewards"][0]["coupon_id"]
    assert bob_coupons[0]["coupon_id"] == bob["rewards"][0]["coupon_id"]


def test_a_sold_out_reward_is_recorded_as_failed_with_its_reason(stack_url, http, bearer, wait_until):
    shop = _shop()
    referrer_t = _template(stack_url, http, bearer, shop, "one only", stock=1)
    referee_t = _template(stack_url, http, bearer, shop, "welcome")
    program = {"referrer_template_id": referrer_t, "referee_template_id": referee_t, "min_order_amount": 0}
    _ok(http.put(f"{stack_url}/referral/program", json=program, headers=bearer("merchant", shop)))
    code = _ok(http.post(f"{stack_url}/referral/codes", headers=bearer("customer", shop, "alice")), 201)[
        "code"
    ]
    for referee, order in (("bob", "o-1"), ("carol", "o-2")):
        _ok(
            http.post(
                f"{stack_url}/referral/signups",
                json={"code": code},
                headers=bearer("customer", shop, referee),
            ),
            201,
        )
        _ok(
            http.post(
                f"{stack_url}/events/orders",
                json=_paid(order, referee, 100),
                headers=bearer("storefront", shop),
            ),
            202,
        )

    def settled():
        me = _ok(http.get(f"{stack_url}/referral/me", headers=bearer("customer", shop, "alice")))
        statuses = sorted(r["status"] for r in me["rewards"])
        return me if statuses == ["failed", "issued"] else None

    alice = wait_until(settled, timeout=30)
    (failed,) = [r for r in alice["rewards"] if r["status"] == "failed"]
    assert "sold_out" in failed["reason"]


def test_report_numbers_match_a_hand_computed_script(stack_url, http, bearer, wait_until):
    shop = _shop()
    merchant, storefront = bearer("merchant", shop), bearer("storefront", shop)
    alice = _ok(http.post(f"{stack_url}/referral/codes", headers=bearer("customer", shop, "alice")), 201)[
        "code"
    ]
    poster = _ok(
        http.post(f"{stack_url}/referral/channels", json={"name": "spring poster"}, headers=merchant), 201
    )
    visits = [
        (alice, "v1"),
        (alice, "v2"),
        (alice, "v1"),
        (poster["code"], "w1"),
        (poster["code"], "w2"),
        (poster["code"], "w3"),
        (poster["code"], "w3"),
    ]
    for code, visitor in visits:
        _ok(
            http.post(
                f"{stack_url}/referral/visits", json={"code": code, "visitor_id": visitor}, headers=storefront
            ),
            202,
        )
    for customer in ("b1", "b2"):
        _ok(
            http.post(
                f"{stack_url}/referral/signups",
                json={"code": alice},
                headers=bearer("customer", shop, customer),
            ),
            201,
        )
    refused = http.post(
        f"{stack_url}/referral/signups", json={"code": alice}, headers=bearer("customer", shop, "alice")
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "self_referral"
    events = [
        _paid("o1", "b1", 3000),
        _paid("o2", "b1", 2000),
        _paid("o3", "b2", 7000),
        _refund("o3", "b2", "r1", 1500),
        _paid("o4", "q1", 1000, code=poster["code"]),
        _paid("o5", "q2", 4000, code=poster["code"]),
        _paid("o6", "q2", 500),
        _paid("o7", "q2", 500),
    ]
    for event in events:
        _ok(http.post(f"{stack_url}/events/orders", json=event, headers=storefront), 202)

    expected = {
        alice: {
            "visits": 3,
            "unique_visitors": 2,
            "signups": 2,
            "first_orders": 2,
            "repeat_customers": 1,
            "gmv_amount": 3000 + 2000 + 7000 - 1500,
            "repurchase_rate_bps": 5000,
        },
        poster["code"]: {
            "visits": 4,
            "unique_visitors": 3,
            "signups": 0,
            "first_orders": 2,
            "repeat_customers": 1,
            "gmv_amount": 1000 + 4000 + 500 + 500,
            "repurchase_rate_bps": 5000,
        },
    }

    def report():
        items = _ok(http.get(f"{stack_url}/referral/report", headers=merchant))["items"]
        got = {i["code"]: {k: i[k] for k in expected[alice]} for i in items}
        return items if got == expected else None

    items = wait_until(report, timeout=30)
    by_code = {i["code"]: i for i in items}
    assert by_code[poster["code"]]["channel_id"] == poster["channel_id"]
    assert by_code[alice]["refusals"]["self_referral"] == 1
