from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from campaign_shared.events import OrderEvent, PoisonMessage, message_body, parse_order_event

BASE = {
    "event_id": "e-1",
    "type": "order.paid",
    "order_id": "o-1",
    "customer_id": "c-1",
    "occurred_at": "2026-11-11T00:00:05Z",
    "lines": [
        {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_amount": 5000, "paid_amount": 9000}
    ],
}


def test_api_md_example_parses():
    event = OrderEvent.model_validate(
        {
            **BASE,
            "currency": "CNY",
            "coupon_id": "cp-1",
            "distributor_code": "d1",
            "referral_code": "r1",
            "lines": [
                {**BASE["lines"][0], "wishlist_item": {"list_id": "w", "item_id": "i", "reservation_id": "r"}}
            ],
        }
    )
    assert event.total_paid == 9000 and event.lines[0].wishlist_item.item_id == "i"


@pytest.mark.parametrize(
    "change",
    [
        {"type": "order.shipped"},
        {"lines": []},
        {"occurred_at": "yesterday"},
        {"currency": "cny"},
        {"lines": [{**BASE["lines"][0], "paid_amount": -1}]},
        {"lines": [{**BASE["lines"][0], "quantity": 0}]},
        {"lines": [{**BASE["lines"][0], "unit_amount": 1.5}]},
        {"type": "order.refunded"},
        {"refund": {"refund_id": "r", "lines": [{"line_id": "l-1", "amount": 1}]}},
        {"type": "order.refunded", "refund": {"refund_id": "r", "lines": [{"line_id": "l-9", "amount": 1}]}},
        {
            "type": "order.refunded",
            "refund": {"refund_id": "r", "lines": [{"line_id": "l-1", "amount": 9001}]},
        },
        {"extra_field": 1},
        {"lines": [BASE["lines"][0], BASE["lines"][0]]},
    ],
)
def test_malformed_events_are_refused(change):
    with pytest.raises(ValidationError):
        OrderEvent.model_validate({**BASE, **change})


def test_message_body_accepts_raw_and_sns_envelopes():
    raw = {"body": json.dumps(BASE)}
    wrapped = {"body": json.dumps({"Type": "Notification", "Message": json.dumps(BASE)})}
    assert message_body(raw)["event_id"] == message_body(wrapped)["event_id"] == "e-1"


@pytest.mark.parametrize("body", ["not json", "[]", "{}", json.dumps({"type": 3})])
def test_poison_messages(body):
    with pytest.raises(PoisonMessage):
        message_body({"body": body})


def test_parse_order_event_turns_bad_events_into_poison():
    with pytest.raises(PoisonMessage):
        parse_order_event({**BASE, "type": "order.refunded"})
