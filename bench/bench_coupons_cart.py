"""``POST /coupons/for-cart`` with 200 coupons in the wallet against a raw Query of the same
wallet (every page, consistent, as the route reads it), alternating, in one run.
Goal (issue 13): p50 ≤ 2× the raw Query."""

from __future__ import annotations

import time
import uuid
from typing import Any

WALLET = 200
N = 60


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    from chalicelib.coupons.store import keys

    http = requests.Session()
    shop = f"cart-{uuid.uuid4().hex[:8]}"
    merchant, buyer = ctx.bearer("merchant", shop, "m1"), ctx.bearer("customer", shop, "buyer")
    body = {"name": "cart", "kind": "amount_off", "amount_off": 100, "total_stock": 1000}
    for kind in ("amount_off", "percent_off"):
        extra = {"percent_off": 10, "amount_off": None} if kind == "percent_off" else {}
        template = http.post(
            f"{ctx.url}/coupons/templates",
            json={**body, "kind": kind, **extra, "per_customer_limit": WALLET // 2},
            headers=merchant,
        )
        assert template.status_code == 201, template.text
        template = template.json()
        for _ in range(WALLET // 2):
            claimed = http.post(f"{ctx.url}/coupons/templates/{template['template_id']}/claim", headers=buyer)
            assert claimed.status_code == 201, claimed.text
    cart = {"lines": [{"product_id": "p-1", "quantity": 2, "unit_amount": 5000}]}
    table = ctx.table("coupons")
    query = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.wallet_pk(shop, "buyer")},
            ":prefix": {"S": keys.COUPON_PREFIX},
        },
        "ConsistentRead": True,
    }

    def raw() -> None:
        params = dict(query)
        while True:
            page = ctx.dynamodb.query(**params)
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def route() -> None:
        answer = http.post(f"{ctx.url}/coupons/for-cart", json=cart, headers=buyer)
        assert answer.status_code == 200 and len(answer.json()["usable"]) == WALLET, answer.text[:200]

    ctx.require_quiet("POST /coupons/for-cart")
    for _ in range(3):
        route()
        raw()
    routes, raws = [], []
    for _ in range(N):
        start = time.perf_counter()
        route()
        routes.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        raws.append(time.perf_counter() - start)
    p50, base = ctx.percentile(routes, 50), ctx.percentile(raws, 50)
    return [
        {
            "benchmark": f"coupons for a cart, {WALLET} coupons in the wallet",
            "metric": "p50 ms",
            "value": p50 * 1000,
            "baseline": base * 1000,
            "ratio": p50 / base,
            "note": (
                f"POST /coupons/for-cart vs a raw consistent Query of the wallet (every page), "
                f"alternating {N} times; p99 {ctx.percentile(routes, 99) * 1000:.1f} ms vs "
                f"{ctx.percentile(raws, 99) * 1000:.1f} ms; goal ≤ 2×"
            ),
        }
    ]
