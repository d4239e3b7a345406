"""Coupons over real HTTP against the local stack: contention, the order lifecycle, bulk issue."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.e2e


def shop() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"  # a fresh tenant per test: the stack is shared


def create_template(stack_url, http, bearer, shop_id, **fields):
    body = {"name": "grab", "kind": "amount_off", "amount_off": 500, "total_stock": 50, **fields}
    response = http.post(
        f"{stack_url}/coupons/templates", json=body, headers=bearer("merchant", shop=shop_id)
    )
    assert response.status_code == 201, response.text
    return response.json()


def concurrent_claims(stack_url, bearer, shop_id, template_id, subs, workers=64):
    """Fire every claim at once (a barrier releases them together); returns (status, code) per claim."""
    url = f"{stack_url}/coupons/templates/{template_id}/claim"
    headers = [bearer("customer", shop=shop_id, sub=sub) for sub in subs]
    local = threading.local()
    gate = threading.Barrier(min(workers, len(subs)))

    def fire(index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            try:
                gate.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
        response = session.post(url, headers=headers[index], timeout=60)
        code = response.json().get("error", {}).get("code") if response.status_code != 201 else None
        return response.status_code, code

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fire, range(len(subs))))


def test_300_customers_grab_a_stock_of_50(stack_url, http, bearer):
    shop_id = shop()
    template = create_template(stack_url, http, bearer, shop_id, total_stock=50)
    results = concurrent_claims(
        stack_url, bearer, shop_id, template["template_id"], [f"c{i}" for i in range(300)]
    )
    assert results.count((201, None)) == 50
    assert results.count((409, "sold_out")) == 250
    read = http.get(
        f"{stack_url}/coupons/templates/{template['template_id']}", headers=bearer("merchant", shop=shop_id)
    ).json()
    assert (read["issued_count"], read["remaining_stock"]) == (50, 0)


def test_one_customer_firing_20_claims_gets_exactly_one(stack_url, http, bearer):
    shop_id = shop()
    template = create_template(stack_url, http, bearer, shop_id, total_stock=100, per_customer_limit=1)
    results = concurrent_claims(
        stack_url, bearer, shop_id, template["template_id"], ["greedy"] * 20, workers=20
    )
    assert results.count((201, None)) == 1
    assert results.count((409, "per_customer_limit_reached")) == 19
    mine = http.get(f"{stack_url}/coupons/me", headers=bearer("customer", shop=shop_id, sub="greedy")).json()
    assert len(mine["items"]) == 1


def test_lock_pay_and_redeem_over_http(stack_url, http, bearer, wait_until):
    shop_id = shop()
    template = create_template(stack_url, http, bearer, shop_id, min_spend_amount=2000, product_ids=["p-1"])
    customer = bearer("customer", shop=shop_id, sub="buyer")
    coupon = http.post(
        f"{stack_url}/coupons/templates/{template['template_id']}/claim", headers=customer
    ).json()
    cart = {
        "coupon_id": coupon["coupon_id"],
        "lines": [{"product_id": "p-1", "quantity": 2, "unit_amount": 1500}],
    }
    check = http.post(f"{stack_url}/coupons/validate", json=cart, headers=customer).json()
    assert (check["valid"], check["discount_amount"]) == (True, 500)
    lock = http.post(
        f"{stack_url}/coupons/{coupon['coupon_id']}/lock", json={"order_id": "o-1"}, headers=customer
    )
    assert lock.status_code == 200 and lock.json()["status"] == "locked"
    paid = {
        "event_id": f"e-{uuid.uuid4().hex}",
        "type": "order.paid",
        "order_id": "o-1",
        "customer_id": "buyer",
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_amount": 1500, "paid_amount": 2500}
        ],
        "coupon_id": coupon["coupon_id"],
    }
    storefront = bearer("storefront", shop=shop_id, sub="store")
    assert http.post(f"{stack_url}/events/orders", json=paid, headers=storefront).status_code == 202

    def redeemed():
        items = http.get(f"{stack_url}/coupons/me", headers=customer).json()["items"]
        return items and items[0]["status"] == "redeemed"

    wait_until(redeemed, timeout=15)

    def counted():
        # The count is settled on the stock shard by the write after the coupon's redemption.
        read = http.get(
            f"{stack_url}/coupons/templates/{template['template_id']}",
            headers=bearer("merchant", shop=shop_id),
        ).json()
        return read["redeemed_count"] == 1

    wait_until(counted, timeout=15)


def test_bulk_issue_job_runs_to_done(stack_url, http, bearer, wait_until):
    shop_id = shop()
    merchant = bearer("merchant", shop=shop_id)
    template = create_template(stack_url, http, bearer, shop_id, total_stock=100)
    customers = [f"bulk-{i}" for i in range(150)] + ["bulk-1", "bulk-2"]
    accepted = http.post(
        f"{stack_url}/coupons/templates/{template['template_id']}/issue-jobs",
        json={"customer_ids": customers},
        headers=merchant,
    )
    assert accepted.status_code == 202, accepted.text
    job_url = f"{stack_url}/coupons/issue-jobs/{accepted.json()['job_id']}"

    def finished():
        body = http.get(job_url, headers=merchant).json()
        return body if body["status"] == "done" else None

    done = wait_until(finished, timeout=60)
    assert (done["issued"], done["skipped"], done["failed"], done["total"]) == (100, 52, 0, 152)
    assert done["skipped_by_reason"] == {"duplicate": 2, "sold_out": 50}
    assert done["samples"]["sold_out"] == [f"bulk-{i}" for i in range(100, 110)]
    # The chunks went through the bulk queue's own poller, not the order events' one.
    queues = http.get(f"{stack_url}/_local/status", timeout=5).json()["queues"]
    assert queues["coupons-bulk"]["messages"] >= 1 and queues["coupons-bulk"]["dlq_depth"] == 0


def test_a_payment_of_another_order_is_a_conflict_the_merchant_sees(stack_url, http, bearer, wait_until):
    shop_id = shop()
    template = create_template(stack_url, http, bearer, shop_id, total_stock=5)
    customer = bearer("customer", shop=shop_id, sub="buyer")
    coupon = http.post(
        f"{stack_url}/coupons/templates/{template['template_id']}/claim", headers=customer
    ).json()
    http.post(f"{stack_url}/coupons/{coupon['coupon_id']}/lock", json={"order_id": "o-1"}, headers=customer)
    paid = {
        "event_id": f"e-{uuid.uuid4().hex}",
        "type": "order.paid",
        "order_id": "o-2",
        "customer_id": "buyer",
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 1500, "paid_amount": 1000}
        ],
        "coupon_id": coupon["coupon_id"],
    }
    storefront = bearer("storefront", shop=shop_id, sub="store")
    assert http.post(f"{stack_url}/events/orders", json=paid, headers=storefront).status_code == 202
    url = f"{stack_url}/coupons/customers/buyer/coupons/{coupon['coupon_id']}"
    merchant = bearer("merchant", shop=shop_id)

    def recorded():
        body = http.get(url, headers=merchant).json()
        return body if body["conflicts"] else None

    seen = wait_until(recorded, timeout=15)
    assert (seen["status"], seen["order_id"]) == ("locked", "o-1")
    assert [(c["order_id"], c["reason"], c["event_id"]) for c in seen["conflicts"]] == [
        ("o-2", "locked_to_another_order", paid["event_id"])
    ]
