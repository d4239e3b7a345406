from __future__ import annotations

import json

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


def _queued(aws, service):
    url = aws["resources"]["queues"][service]["url"]
    messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_order_event_is_published_to_every_service_queue(gateway, auth, aws):
    response = gateway.post("/events/orders", PAID, headers=auth("storefront"))
    assert response.status_code == 202, response
    assert response.json() == {"event_id": "e-1"}
    for service in ("coupons", "distribution", "wishlist", "referral"):
        (body,) = _queued(aws, service)
        assert body["event_id"] == "e-1" and body["shop"] == "s1" and body["lines"][0]["paid_amount"] == 9000


def test_duplicate_event_id_is_accepted_and_published_once(gateway, auth, aws):
    assert gateway.post("/events/orders", PAID, headers=auth("storefront")).status_code == 202
    assert gateway.post("/events/orders", PAID, headers=auth("storefront")).status_code == 202
    assert len(_queued(aws, "coupons")) == 1


def test_same_event_id_with_another_body_is_refused(gateway, auth, aws):
    assert gateway.post("/events/orders", PAID, headers=auth("storefront")).status_code == 202
    changed = {**PAID, "order_id": "o-2"}
    response = gateway.post("/events/orders", changed, headers=auth("storefront"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_id_reused"


def test_malformed_event_is_400_and_nothing_published(gateway, auth, aws):
    bad = {**PAID, "lines": [{**PAID["lines"][0], "paid_amount": -1}]}
    response = gateway.post("/events/orders", bad, headers=auth("storefront"))
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_request" and body["details"]
    refund_without_body = {**PAID, "type": "order.refunded"}
    assert gateway.post("/events/orders", refund_without_body, headers=auth("storefront")).status_code == 400
    assert _queued(aws, "coupons") == []


def test_only_storefront_may_post_events(gateway, auth):
    response = gateway.post("/events/orders", PAID, headers=auth("customer"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
