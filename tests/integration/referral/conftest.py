"""Fixtures of the referral integration tests: a program, codes, channels, report rows, the queue."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

_events = itertools.count(1)


def _paid(
    customer: str,
    order: str,
    amount: int,
    *,
    code: str | None = None,
    at: str | None = None,
    shop: str = "s1",
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``order.paid`` message as the order-events topic delivers it (``shop`` included),
    placed ``at`` (default: now, on the services' clock; a signup voids when an order placed
    before it arrives later, so orders made in a test after a signup are placed after it)."""
    if at is None:
        from campaign_shared import clock

        at = clock.iso(clock.now())
    body: dict[str, Any] = {
        "event_id": event_id or f"e-{next(_events)}",
        "type": "order.paid",
        "order_id": order,
        "customer_id": customer,
        "occurred_at": at,
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
        "shop": shop,
    }
    if code is not None:
        body["referral_code"] = code
    return body


def _refunded(customer: str, order: str, refund_id: str, amount: int, *, shop: str = "s1") -> dict[str, Any]:
    return {
        "event_id": f"e-{next(_events)}",
        "type": "order.refunded",
        "order_id": order,
        "customer_id": customer,
        "occurred_at": "2026-11-12T00:00:00Z",
        "lines": [],
        "refund": {"refund_id": refund_id, "lines": [{"line_id": "l-1", "amount": amount}]},
        "shop": shop,
    }


def _queued(aws: Any, service: str, dlq: bool = False) -> list[dict[str, Any]]:
    """Every message waiting on a service queue (received and left invisible)."""
    url = aws["resources"]["queues"][service]["dlq_url" if dlq else "url"]
    found = []
    while True:
        messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        found.extend(json.loads(m["Body"]) for m in messages)


@pytest.fixture
def paid():
    """``paid(customer, order, amount, code=..., at=..., shop=...)``: an order.paid message."""
    return _paid


@pytest.fixture
def refunded():
    """``refunded(customer, order, refund_id, amount)``: an order.refunded message."""
    return _refunded


@pytest.fixture
def queued(aws):
    """``queued(service, dlq=False)``: the messages waiting on a queue."""
    return lambda service, dlq=False: _queued(aws, service, dlq)


@pytest.fixture
def send():
    """``send(body)`` puts a message straight on the referral queue (duplicates, reordering)."""
    from campaign_shared import messaging

    def run(*bodies: dict[str, Any]) -> None:
        for body in bodies:
            messaging.send("referral", body)

    return run


@pytest.fixture
def templates_exist(monkeypatch, gateway):
    """Pretend the coupons service has every template (its own tests cover templates); the
    tests of missing and foreign templates use the real check."""
    from chalicelib.referral import store
    from chalicelib.referral.store.records import CouponTemplate

    monkeypatch.setattr(store.stores().templates, "get", lambda shop, template_id: CouponTemplate(100))


@pytest.fixture
def program(gateway, auth, templates_exist):
    def put(
        min_order_amount: int = 0, cap: int | None = None, shop: str = "s1", hold_days: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "referrer_template_id": "t-referrer",
            "referee_template_id": "t-referee",
            "min_order_amount": min_order_amount,
        }
        if cap is not None:
            body["max_rewards_per_referrer"] = cap
        if hold_days is not None:
            body["reward_hold_days"] = hold_days
        response = gateway.put("/referral/program", body, headers=auth("merchant", shop=shop))
        assert response.status_code == 200, response
        return response.json()

    return put


@pytest.fixture
def code_of(gateway, auth):
    def make(customer: str, shop: str = "s1") -> str:
        response = gateway.post("/referral/codes", headers=auth("customer", shop=shop, sub=customer))
        assert response.status_code == 201, response
        return response.json()["code"]

    return make


@pytest.fixture
def channel(gateway, auth):
    def make(name: str = "store 12 counter", shop: str = "s1") -> dict[str, Any]:
        response = gateway.post("/referral/channels", {"name": name}, headers=auth("merchant", shop=shop))
        assert response.status_code == 201, response
        return response.json()

    return make


@pytest.fixture
def row(gateway, auth):
    def get(code: str, shop: str = "s1") -> dict[str, Any]:
        response = gateway.get(f"/referral/report?code={code}", headers=auth("merchant", shop=shop))
        assert response.status_code == 200, response
        (item,) = response.json()["items"]
        return item

    return get
