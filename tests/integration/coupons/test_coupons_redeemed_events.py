"""A redemption is told to other services: ``coupon.redeemed`` on the coupon-events topic
(``campaign_shared.coupon_events``), carrying the template, the share link the coupon came
through and its discount; a redelivered payment tells it again under the same event id."""

from __future__ import annotations

import json

from campaign_shared import clock, messaging
from campaign_shared.coupon_events import CouponRedeemed


def _told(aws) -> list[dict]:
    """Every message on the audience service's queue (subscribed to coupon-events)."""
    url = aws["resources"]["queues"]["audience"]["url"]
    found = []
    while batch := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            found.append(json.loads(m["Body"]))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [m for m in found if m.get("type") == "coupon.redeemed"]


def test_a_redemption_through_a_share_link_is_told_once_per_copy_under_one_id(gateway, auth, drain, aws):
    body = {"name": "t", "kind": "amount_off", "amount_off": 700, "total_stock": 5}
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    link = gateway.post(
        f"/coupons/templates/{tid}/share-links", {"channel": "group-1"}, headers=auth("merchant")
    ).json()["link_id"]
    coupon = gateway.post(f"/coupons/share-links/{link}/claim", headers=auth("customer", sub="c-1")).json()
    line = {"line_id": "l1", "product_id": "p", "quantity": 1, "unit_amount": 9000, "paid_amount": 9000}
    paid = {
        "event_id": "e-told-1",
        "type": "order.paid",
        "shop": "s1",
        "order_id": "o-told",
        "customer_id": "c-1",
        "coupon_id": coupon["coupon_id"],
        "occurred_at": clock.iso(clock.now()),
        "lines": [line],
    }
    assert _told(aws) == []
    messaging.send("coupons", paid)
    drain("coupons:main")
    first = _told(aws)
    assert len(first) == 1
    told = CouponRedeemed.model_validate(first[0])
    assert (told.template_id, told.share_link_id, told.discount_amount) == (tid, link, 700)
    assert (told.customer_id, told.order_id, told.coupon_id, told.grant_id) == (
        "c-1",
        "o-told",
        coupon["coupon_id"],
        None,
    )

    messaging.send("coupons", paid)  # a redelivered payment: told again, the same id
    drain("coupons:main")
    again = _told(aws)
    assert [m["event_id"] for m in again] == [told.event_id]

    other = {**paid, "event_id": "e-told-2", "order_id": "o-other"}  # did not redeem it: not told
    messaging.send("coupons", other)
    drain("coupons:main")
    assert _told(aws) == []
