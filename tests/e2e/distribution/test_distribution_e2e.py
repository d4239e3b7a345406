"""Distribution over real HTTP against the local stack: order events through /events reach
the distribution consumer; commissions for both tiers, once however often the event comes;
concurrent withdrawals never overdraw."""

from __future__ import annotations

import concurrent.futures
import uuid


def _setup(http, url, bearer, shop):
    rules = {"default_rate_bps": 1000, "parent_rate_bps": 500, "settle_after_days": 0, "auto_approve": True}
    assert (
        http.put(f"{url}/distribution/rules", json=rules, headers=bearer("merchant", shop, "m")).status_code
        == 200
    )
    assert (
        http.post(
            f"{url}/distribution/distributors", json={}, headers=bearer("customer", shop, "p")
        ).status_code
        == 201
    )
    child = http.post(
        f"{url}/distribution/distributors", json={"invited_by": "p"}, headers=bearer("customer", shop, "c")
    )
    assert child.status_code == 201 and child.json()["parent_id"] == "p"
    link = http.post(
        f"{url}/distribution/links", json={"product_id": "p-1"}, headers=bearer("customer", shop, "c")
    )
    assert link.status_code == 201
    return link.json()["code"]


def _paid(order_id, code, event_id=None):
    return {
        "event_id": event_id or f"e-{uuid.uuid4()}",
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": "buyer",
        "occurred_at": "2026-11-11T00:00:05Z",
        "currency": "CNY",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_amount": 5000, "paid_amount": 9000},
            {"line_id": "l-2", "product_id": "p-2", "quantity": 1, "unit_amount": 1005, "paid_amount": 1005},
        ],
        "distributor_code": code,
    }


def _balance(http, url, bearer, shop, sub):
    response = http.get(f"{url}/distribution/me/balance", headers=bearer("customer", shop, sub))
    assert response.status_code == 200
    return response.json()


def test_order_through_a_tier2_link_pays_both_tiers_once(stack_url, http, bearer, wait_until):
    shop = f"shop-{uuid.uuid4().hex[:8]}"
    code = _setup(http, stack_url, bearer, shop)
    event = _paid("o-1", code)
    for _ in range(3):  # the same event three times
        assert (
            http.post(
                f"{stack_url}/events/orders", json=event, headers=bearer("storefront", shop, "sf")
            ).status_code
            == 202
        )
    # and the same order under other event ids (a storefront retrying with new ids)
    for _ in range(2):
        again = {**event, "event_id": f"e-{uuid.uuid4()}"}
        assert (
            http.post(
                f"{stack_url}/events/orders", json=again, headers=bearer("storefront", shop, "sf")
            ).status_code
            == 202
        )

    wait_until(lambda: _balance(http, stack_url, bearer, shop, "p")["pending_amount"] > 0, timeout=15)
    wait_until(lambda: _balance(http, stack_url, bearer, shop, "c")["pending_amount"] > 0, timeout=15)
    # tier 1: floor(9000 * 10%) + floor(1005 * 10%) = 900 + 100; tier 2 at 5%: 450 + 50
    assert _balance(http, stack_url, bearer, shop, "c")["pending_amount"] == 1000
    assert _balance(http, stack_url, bearer, shop, "p")["pending_amount"] == 500
    # let every copy be consumed, then check nothing was credited twice
    wait_until(
        lambda: (
            http.get(f"{stack_url}/_local/status", timeout=5).json()["queues"]["distribution"]["depth"] == 0
        )
    )
    assert _balance(http, stack_url, bearer, shop, "c")["pending_amount"] == 1000
    assert _balance(http, stack_url, bearer, shop, "p")["pending_amount"] == 500
    rows = http.get(f"{stack_url}/distribution/me/commissions", headers=bearer("customer", shop, "p")).json()[
        "items"
    ]
    assert sorted((r["order_id"], r["line_id"], r["tier"], r["amount"], r["status"]) for r in rows) == [
        ("o-1", "l-1", 2, 450, "pending"),
        ("o-1", "l-2", 2, 50, "pending"),
    ]
    for sub in ("c", "p"):
        report = http.get(
            f"{stack_url}/distribution/distributors/{sub}/reconciliation",
            headers=bearer("merchant", shop, "m"),
        ).json()
        assert report["consistent"] and report["journal_groups"] == 0


def test_ten_concurrent_withdrawals_of_the_whole_balance_succeed_once(stack_url, http, bearer, wait_until):
    import requests

    shop = f"shop-{uuid.uuid4().hex[:8]}"
    code = _setup(http, stack_url, bearer, shop)
    assert (
        http.post(
            f"{stack_url}/events/orders", json=_paid("o-1", code), headers=bearer("storefront", shop, "sf")
        ).status_code
        == 202
    )
    wait_until(lambda: _balance(http, stack_url, bearer, shop, "c")["pending_amount"] == 1000, timeout=15)
    settled = http.post(
        f"{stack_url}/distribution/settlements", json={}, headers=bearer("merchant", shop, "m")
    )
    assert settled.status_code == 200 and settled.json()["settled_amount"] == 1500
    assert _balance(http, stack_url, bearer, shop, "c")["available_amount"] == 1000

    def withdraw(_):
        with requests.Session() as session:
            return session.post(
                f"{stack_url}/distribution/me/withdrawals",
                json={"amount": 1000},
                headers=bearer("customer", shop, "c"),
                timeout=30,
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(withdraw, range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9, [r.text for r in responses]
    assert all(r.json()["error"]["code"] == "insufficient_balance" for r in responses if r.status_code == 409)
    balance = _balance(http, stack_url, bearer, shop, "c")
    assert (balance["available_amount"], balance["reserved_amount"], balance["withdrawn_amount"]) == (
        0,
        1000,
        0,
    )


def test_concurrent_approvals_and_payments_of_one_withdrawal_pay_once(stack_url, http, bearer, wait_until):
    """Ten merchants' clicks at once on approve, then ten on pay (half of them with a retried
    Idempotency-Key): one approval, one payout entry, the money moved once."""
    import requests

    shop = f"shop-{uuid.uuid4().hex[:8]}"
    code = _setup(http, stack_url, bearer, shop)
    assert (
        http.post(
            f"{stack_url}/events/orders", json=_paid("o-1", code), headers=bearer("storefront", shop, "sf")
        ).status_code
        == 202
    )
    wait_until(lambda: _balance(http, stack_url, bearer, shop, "c")["pending_amount"] == 1000, timeout=15)
    merchant = bearer("merchant", shop, "m")
    assert http.post(f"{stack_url}/distribution/settlements", json={}, headers=merchant).status_code == 200
    made = http.post(
        f"{stack_url}/distribution/me/withdrawals",
        json={"amount": 800, "method": "alipay", "account": "buyer@example.com"},
        headers=bearer("customer", shop, "c"),
    )
    assert made.status_code == 201, made.text
    base = f"{stack_url}/distribution/distributors/c/withdrawals/{made.json()['withdrawal_id']}"

    def click(args):
        action, n = args
        body = {"payout_reference": "ALI-42"} if action == "pay" else {}
        headers = {**merchant, **({"Idempotency-Key": f"{action}-k"} if n % 2 else {})}
        with requests.Session() as session:
            return session.post(f"{base}/{action}", json=body, headers=headers, timeout=30)

    for action, status in (("approve", "approved"), ("pay", "paid")):
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(click, [(action, n) for n in range(10)]))
        # unkeyed clicks all answer the withdrawal; a keyed one may find its twin still running
        # (409 request_in_progress, the platform's Idempotency-Key rule) and is retried after
        for n, response in enumerate(responses):
            busy = response.status_code == 409 and response.json()["error"]["code"] == "request_in_progress"
            assert response.status_code == 200 or (n % 2 and busy), response.text
            if busy:
                response = click((action, n))
            assert response.status_code == 200 and response.json()["status"] == status, response.text
    balance = _balance(http, stack_url, bearer, shop, "c")
    assert (balance["available_amount"], balance["reserved_amount"], balance["withdrawn_amount"]) == (
        200,
        0,
        800,
    )
    ledger = http.get(
        f"{stack_url}/distribution/me/ledger?kind=withdrawal_payout", headers=bearer("customer", shop, "c")
    ).json()["items"]
    assert len(ledger) == 1 and ledger[0]["amount"] == 800
    report = http.get(f"{stack_url}/distribution/distributors/c/reconciliation", headers=merchant).json()
    assert report["consistent"] and report["journal_groups"] == 0
