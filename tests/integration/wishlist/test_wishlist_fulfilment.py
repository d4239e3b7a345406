"""Order events fulfil wishes: duplicates, reordering, refunds, cancels, notifications."""

from __future__ import annotations

import json

import pytest

OWNER, FRIEND, OTHER = "owner", "friend", "other-friend"


@pytest.fixture
def notifications(aws):
    """Messages published on the wishlist-events topic (a test queue subscribed to it)."""
    url = aws["sqs"].create_queue(QueueName="wishlist-events-probe")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = aws["resources"]["topics"]["wishlist-events"]
    aws["sns"].subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )

    def read() -> list[dict]:
        found = []
        while True:
            batch = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return read


def make_list(gateway, auth, *, surprise: bool, quantity: int = 2) -> dict:
    owner = auth("customer", "s1", OWNER)
    list_id = gateway.post(
        "/wishlist/lists", {"title": "Wedding", "surprise": surprise}, headers=owner
    ).json()["list_id"]
    item = {"product_id": "p-1", "name": "Teapot", "unit_amount": 5000, "quantity": quantity}
    item_id = gateway.post(f"/wishlist/lists/{list_id}/items", item, headers=owner).json()["item_id"]
    token = gateway.post(f"/wishlist/lists/{list_id}/share", headers=owner).json()["share_token"]
    return {"list_id": list_id, "item_id": item_id, "token": token}


def reserve(gateway, auth, wish, sub=FRIEND, quantity=1) -> str:
    response = gateway.post(
        f"/wishlist/shared/{wish['token']}/items/{wish['item_id']}/reservations",
        {"quantity": quantity},
        headers=auth("customer", "s1", sub),
    )
    assert response.status_code == 201, response
    return response.json()["reservation_id"]


def order_event(
    wish,
    kind="order.paid",
    *,
    event_id="e-1",
    order_id="o-1",
    buyer=FRIEND,
    quantity=1,
    paid=5000,
    reservation_id=None,
    refund=None,
    lines=True,
) -> dict:
    ref = {"list_id": wish["list_id"], "item_id": wish["item_id"]}
    if reservation_id:
        ref["reservation_id"] = reservation_id
    line = {
        "line_id": "l-1",
        "product_id": "p-1",
        "quantity": quantity,
        "unit_amount": 5000,
        "paid_amount": paid,
        "wishlist_item": ref,
    }
    event = {
        "event_id": event_id,
        "type": kind,
        "order_id": order_id,
        "customer_id": buyer,
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [line] if lines else [],
    }
    if refund is not None:
        event["refund"] = {"refund_id": refund[0], "lines": [{"line_id": "l-1", "amount": refund[1]}]}
    return event


def send(drain, *events) -> dict:
    from campaign_shared import messaging

    for event in events:
        messaging.send("wishlist", {**event, "shop": "s1"})
    return drain("wishlist")["wishlist"]


def owner_item(gateway, auth, wish) -> dict:
    view = gateway.get(f"/wishlist/lists/{wish['list_id']}", headers=auth("customer", "s1", OWNER)).json()
    (item,) = view["items"]
    return item


def counts(item) -> tuple[int, int, int]:
    return item["reserved_quantity"], item["fulfilled_quantity"], item["open_quantity"]


def test_paid_line_consumes_the_reservation_and_the_owner_sees_who(gateway, auth, drain, notifications):
    wish = make_list(gateway, auth, surprise=False)
    rid = reserve(gateway, auth, wish)
    assert counts(owner_item(gateway, auth, wish)) == (1, 0, 1)
    response = gateway.post(
        "/events/orders", order_event(wish, reservation_id=rid), headers=auth("storefront")
    )
    assert response.status_code == 202
    assert drain("wishlist")["wishlist"]["failed"] == 0
    item = owner_item(gateway, auth, wish)
    assert counts(item) == (0, 1, 1)
    assert [(f["customer_id"], f["quantity"]) for f in item["fulfilled_by"]] == [(FRIEND, 1)]
    # Friends never see who bought, even when the owner may.
    public = gateway.get(f"/wishlist/shared/{wish['token']}", headers=auth("customer", "s1", OTHER))
    assert (
        public.status_code == 200
        and FRIEND not in public.content.decode()
        and OWNER not in public.content.decode()
    )
    assert public.json()["items"][0]["fulfilled_quantity"] == 1
    (message,) = notifications()
    assert message["type"] == "wishlist.item_fulfilled" and message["buyer_id"] == FRIEND
    assert (message["owner_id"], message["list_id"], message["item_id"]) == (
        OWNER,
        wish["list_id"],
        wish["item_id"],
    )
    assert (message["quantity"], message["fulfilled_quantity"], message["wanted_quantity"]) == (1, 1, 2)
    assert message["shop"] == "s1" and message["surprise"] is False


def test_surprise_hides_the_buyer_from_the_owner_and_the_notification(gateway, auth, drain, notifications):
    wish = make_list(gateway, auth, surprise=True)
    rid = reserve(gateway, auth, wish)
    send(drain, order_event(wish, reservation_id=rid, buyer="buyer-77", order_id="order-77"))
    response = gateway.get(f"/wishlist/lists/{wish['list_id']}", headers=auth("customer", "s1", OWNER))
    text = response.content.decode()
    assert "buyer-77" not in text and "order-77" not in text and FRIEND not in text
    (item,) = response.json()["items"]
    assert counts(item) == (0, 1, 1) and item["fulfilled_by"] is None
    (message,) = notifications()
    assert "buyer-77" not in json.dumps(message) and "order-77" not in json.dumps(message)
    assert message["surprise"] is True and message["quantity"] == 1


def test_a_duplicate_paid_event_fulfils_once_and_notifies_once(gateway, auth, drain, notifications):
    wish = make_list(gateway, auth, surprise=False)
    paid = order_event(wish)
    stats = send(drain, paid, paid)
    assert stats["failed"] == 0
    # The same payment again under another event id changes nothing either.
    send(drain, {**paid, "event_id": "e-again"})
    assert counts(owner_item(gateway, auth, wish)) == (0, 1, 1)
    assert len(notifications()) == 1


def test_payment_without_reservation_takes_open_quantity_never_more_than_wanted(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False, quantity=2)
    reserve(gateway, auth, wish, sub=OTHER)  # someone else holds one
    send(drain, order_event(wish, quantity=3, paid=15000))
    item = owner_item(gateway, auth, wish)
    assert counts(item) == (1, 1, 0)
    assert item["fulfilled_quantity"] + item["reserved_quantity"] <= item["quantity"]


def test_refund_gives_the_quantity_back(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False)
    send(drain, order_event(wish, quantity=2, paid=9000))
    assert counts(owner_item(gateway, auth, wish)) == (0, 2, 0)
    send(
        drain,
        order_event(wish, "order.refunded", event_id="e-r1", quantity=2, paid=9000, refund=("r-1", 4500)),
    )
    assert counts(owner_item(gateway, auth, wish)) == (0, 1, 1)
    # The same refund again is harmless; the rest of the money gives back the rest.
    send(
        drain,
        order_event(wish, "order.refunded", event_id="e-r1b", quantity=2, paid=9000, refund=("r-1", 4500)),
    )
    assert counts(owner_item(gateway, auth, wish)) == (0, 1, 1)
    send(
        drain,
        order_event(wish, "order.refunded", event_id="e-r2", quantity=2, paid=9000, refund=("r-2", 4500)),
    )
    item = owner_item(gateway, auth, wish)
    assert counts(item) == (0, 0, 2) and item["fulfilled_by"] == []


def test_a_small_partial_refund_keeps_the_gift_fulfilled(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False, quantity=1)
    send(drain, order_event(wish, paid=5000))
    send(drain, order_event(wish, "order.refunded", event_id="e-r", paid=5000, refund=("r-1", 100)))
    assert counts(owner_item(gateway, auth, wish)) == (0, 1, 0)


def test_refund_before_its_payment_leaves_nothing_fulfilled(gateway, auth, drain, notifications):
    wish = make_list(gateway, auth, surprise=False)
    rid = reserve(gateway, auth, wish)
    refund = order_event(wish, "order.refunded", event_id="e-r", reservation_id=rid, refund=("r-1", 5000))
    send(drain, refund)
    assert counts(owner_item(gateway, auth, wish)) == (1, 0, 1)
    send(drain, order_event(wish, reservation_id=rid))
    assert counts(owner_item(gateway, auth, wish)) == (0, 0, 2)
    assert notifications() == []


@pytest.mark.parametrize("refund_first", [True, False])
def test_a_refund_that_names_no_item_finds_its_line_in_either_order(gateway, auth, drain, refund_first):
    wish = make_list(gateway, auth, surprise=False)
    paid = order_event(wish, paid=5000)
    refund = order_event(wish, "order.refunded", event_id="e-r", refund=("r-1", 5000), lines=False)
    for event in (refund, paid) if refund_first else (paid, refund):
        assert send(drain, event)["failed"] == 0
    assert counts(owner_item(gateway, auth, wish)) == (0, 0, 2)


def test_cancelled_order_releases_its_reservation(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False, quantity=1)
    rid = reserve(gateway, auth, wish)
    send(drain, order_event(wish, "order.cancelled", reservation_id=rid))
    assert counts(owner_item(gateway, auth, wish)) == (0, 0, 1)
    assert reserve(gateway, auth, wish, sub=OTHER)
    # A cancel delivered again, or after another friend reserved, takes nothing away from her.
    send(drain, order_event(wish, "order.cancelled", event_id="e-c2", reservation_id=rid))
    assert counts(owner_item(gateway, auth, wish)) == (1, 0, 0)


def test_cancel_delivered_after_the_payment_does_not_undo_it(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False, quantity=1)
    rid = reserve(gateway, auth, wish)
    send(
        drain,
        order_event(wish, reservation_id=rid),
        order_event(wish, "order.cancelled", event_id="e-c", reservation_id=rid),
    )
    assert counts(owner_item(gateway, auth, wish)) == (0, 1, 0)


def test_events_for_unknown_or_foreign_items_are_dropped(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False)
    unknown = order_event({**wish, "item_id": "it-missing"})
    foreign = {**order_event(wish, event_id="e-foreign"), "shop": "s2"}
    from campaign_shared import messaging

    messaging.send("wishlist", foreign)
    stats = send(drain, unknown)
    assert stats["failed"] == 0 and stats["messages"] == 2
    assert counts(owner_item(gateway, auth, wish)) == (0, 0, 2)


def test_a_malformed_event_is_retried_then_dead_lettered(gateway, auth, drain, aws):
    from campaign_shared import messaging

    messaging.send("wishlist", {"type": "order.paid", "event_id": "broken", "shop": "s1"})
    stats = drain("wishlist")["wishlist"]
    assert stats["failed"] >= 1
    queue = aws["resources"]["queues"]["wishlist"]
    dead = aws["sqs"].receive_message(QueueUrl=queue["dlq_url"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["event_id"] for m in dead] == ["broken"]


def test_events_without_wishlist_lines_change_nothing(gateway, auth, drain):
    wish = make_list(gateway, auth, surprise=False)
    plain = order_event(wish)
    del plain["lines"][0]["wishlist_item"]
    assert send(drain, plain)["failed"] == 0
    assert counts(owner_item(gateway, auth, wish)) == (0, 0, 2)
