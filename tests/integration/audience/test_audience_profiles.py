"""Profiles and the repurchase report through the gateway: order events posted to /events,
delivered to the audience queue (duplicated), coupon redemptions joined by order id."""

from __future__ import annotations

import csv
import io
import json

LINE = {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 10000, "paid_amount": 10000}


def _paid(event_id: str, order_id: str, customer: str, at: str, **extra: str) -> dict:
    return {
        "event_id": event_id,
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        "occurred_at": at,
        "lines": [LINE],
        **extra,
    }


def _post_events(gateway, auth, events: list[dict]) -> None:
    for event in events:
        response = gateway.post("/events/orders", event, headers=auth("storefront"))
        assert response.status_code == 202, response


def _redeemed(aws, order_id: str, customer: str, template_id: str, share_link_id: str | None) -> None:
    """A coupon.redeemed as the coupons service publishes it on the coupon-events topic."""
    message = {
        "type": "coupon.redeemed",
        "event_id": f"red-{order_id}",
        "shop": "s1",
        "customer_id": customer,
        "order_id": order_id,
        "coupon_id": f"cp-{order_id}",
        "template_id": template_id,
        "share_link_id": share_link_id,
        "grant_id": None,
        "discount_amount": 1000,
        "occurred_at": "2026-03-01T00:00:00Z",
    }
    topic = aws["resources"]["topics"]["coupon-events"]
    arn = topic["arn"] if isinstance(topic, dict) else topic
    aws["sns"].publish(TopicArn=arn, Message=json.dumps(message))


def test_profiles_and_report_from_order_events_and_redemptions(gateway, auth, aws, drain):
    merchant = auth("merchant", "s1", "m1")
    # c-1: two orders 20 days apart (the later one posted first), the first through a share link.
    # c-2: one order by referral, partly refunded; c-3: an order cancelled before payment.
    _redeemed(aws, "o-11", "c-1", "t-spring", "sl-1")
    _post_events(
        gateway,
        auth,
        [
            _paid("e-12", "o-12", "c-1", "2026-03-21T10:00:00Z"),
            _paid("e-11", "o-11", "c-1", "2026-03-01T10:00:00Z"),
            _paid("e-21", "o-21", "c-2", "2026-03-05T10:00:00Z", referral_code="ref-a"),
            {
                "event_id": "e-22",
                "type": "order.refunded",
                "order_id": "o-21",
                "customer_id": "c-2",
                "occurred_at": "2026-03-07T10:00:00Z",
                "lines": [LINE],
                "refund": {"refund_id": "rf-1", "lines": [{"line_id": "l-1", "amount": 2500}]},
            },
            {
                "event_id": "e-31",
                "type": "order.cancelled",
                "order_id": "o-31",
                "customer_id": "c-3",
                "occurred_at": "2026-03-05T10:00:00Z",
                "lines": [LINE],
            },
        ],
    )
    stats = drain("audience")
    assert stats["audience"]["messages"] == 6 and stats["audience"]["failed"] == 0

    c1 = gateway.get("/audience/customers/c-1", headers=merchant)
    assert c1.status_code == 200, c1
    body = c1.json()
    assert body["orders_count"] == 2 and body["paid_total_amount"] == 20000
    assert (
        body["first_order_at"] == "2026-03-01T10:00:00Z" and body["last_order_at"] == "2026-03-21T10:00:00Z"
    )
    assert body["first_touch"] == {
        "channel": "coupon_share",
        "referral_code": None,
        "distributor_code": None,
        "share_link_id": "sl-1",
    }
    assert body["first_coupon_template_id"] == "t-spring" and body["last_touch"]["channel"] == "direct"
    c2 = gateway.get("/audience/customers/c-2", headers=merchant).json()
    assert (c2["orders_count"], c2["refunded_total_amount"]) == (1, 2500)
    assert c2["first_touch"]["referral_code"] == "ref-a"
    assert gateway.get("/audience/customers/c-3", headers=merchant).json()["orders_count"] == 0
    assert gateway.get("/audience/customers/c-404", headers=merchant).status_code == 404

    report = gateway.get(
        "/audience/reports/repurchase?from=2026-03-01&to=2026-03-31&by=channel", headers=merchant
    )
    assert report.status_code == 200, report
    rows = {r["key"]: r for r in report.json()["items"]}
    assert set(rows) == {"coupon_share", "referral"}
    assert rows["coupon_share"]["repurchase_30d_customers"] == 1 and rows["coupon_share"]["orders"] == 2
    assert rows["coupon_share"]["mean_days_between_orders"] == 20.0
    assert rows["referral"]["gmv_amount"] == 7500 and rows["referral"]["repeat_customers"] == 0
    assert report.json()["total"]["customers"] == 2 and report.json()["total"]["gmv_amount"] == 27500

    by_template = gateway.get(
        "/audience/reports/repurchase?from=2026-03-01&to=2026-03-31&by=first_coupon_template",
        headers={**merchant, "accept": "text/csv"},
    )
    assert by_template.status_code == 200 and by_template.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(by_template.content.decode())))
    assert [(r["key"], r["customers"]) for r in table] == [("(none)", "1"), ("t-spring", "1"), ("total", "2")]


def test_report_refuses_bad_periods_and_other_roles(gateway, auth):
    merchant = auth("merchant", "s1", "m1")
    for query in (
        "from=2024-01-01&to=2026-01-02",
        "from=2026-03-01&to=2026-02-01",
        "from=x&to=2026-01-01",
        "to=2026-01-01",
    ):
        response = gateway.get(f"/audience/reports/repurchase?{query}", headers=merchant)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", query
    bad_by = gateway.get(
        "/audience/reports/repurchase?from=2026-01-01&to=2026-01-31&by=color", headers=merchant
    )
    assert bad_by.status_code == 400
    customer = gateway.get(
        "/audience/reports/repurchase?from=2026-01-01&to=2026-01-31", headers=auth("customer")
    )
    assert customer.status_code == 403
    assert gateway.get("/audience/customers/c-1", headers=auth("customer", "s1", "c-1")).status_code == 403


def test_health_is_served_behind_the_gateway(gateway):
    response = gateway.get("/audience/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
