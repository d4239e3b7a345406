"""Fulfilment by order events on in-memory fakes (no moto): a paid line consumes its hold,
duplicates fulfil and notify once, a cancel releases the hold, and a crash between two writes
is completed exactly once by the rerun (the redelivered message)."""

from __future__ import annotations

import pytest

from campaign_shared import events
from chalicelib.wishlist.models import ItemIn, ListIn, ReservationIn
from chalicelib.wishlist.usecases import lists, orders, reservations, sharing
from tests.unit.wishlist.fakes import Crash

SHOP, OWNER, FRIEND = "s1", "owner", "friend"


@pytest.fixture
def wish(wishlist, clock_at):
    """A shared list of the owner with one item of quantity 2, and one unit held by a friend."""
    stores = wishlist.stores()
    list_id = lists.create_list(SHOP, OWNER, ListIn(title="Wedding"), stores).list_id
    item = ItemIn(product_id="p-1", name="Teapot", unit_amount=5000, quantity=2)
    item_id = lists.add_item(SHOP, OWNER, list_id, item, stores).item_id
    token = sharing.share(SHOP, OWNER, list_id, stores).share_token
    held = reservations.reserve(SHOP, FRIEND, token, item_id, ReservationIn(quantity=1), stores)
    return {
        "list_id": list_id,
        "item_id": item_id,
        "token": token,
        "stores": stores,
        "reservation_id": held.reservation_id,
    }


def event(wish, kind="order.paid", *, order_id="o-1", refund=None, reservation=True, lines=True):
    ref = {"list_id": wish["list_id"], "item_id": wish["item_id"]}
    if reservation:
        ref["reservation_id"] = wish["reservation_id"]
    body = {
        "event_id": f"e-{kind}",
        "type": kind,
        "order_id": order_id,
        "customer_id": FRIEND,
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {
                "line_id": "l-1",
                "product_id": "p-1",
                "quantity": 1,
                "unit_amount": 5000,
                "paid_amount": 5000,
                "wishlist_item": ref,
            }
        ]
        if lines
        else [],
        "shop": SHOP,
    }
    if refund is not None:
        body["refund"] = {"refund_id": refund, "lines": [{"line_id": "l-1", "amount": 5000}]}
    return events.parse_order_event(body)


def handle(wish, order_event):
    handler = {
        "order.paid": orders.paid,
        "order.refunded": orders.refunded,
        "order.cancelled": orders.cancelled,
    }
    handler[order_event.type](SHOP, order_event, wish["stores"])


def counts(wish):
    """(reserved, fulfilled, open) in the owner's view, and the stored counter."""
    (item,) = lists.owner_view(SHOP, OWNER, wish["list_id"], wish["stores"]).items
    return item.reserved_quantity, item.fulfilled_quantity, item.open_quantity


def stored(wishlist, wish):
    item = wishlist.tables.items[(SHOP, wish["list_id"], wish["item_id"])]
    assert item.available == item.state.available  # the counter always matches the record
    return item


def test_a_paid_line_consumes_its_hold_and_notifies_once(wishlist, wish):
    handle(wish, event(wish))
    assert counts(wish) == (0, 1, 1)
    assert stored(wishlist, wish).holds == {}
    ((topic, message),) = wishlist.published
    assert topic == "wishlist-events" and message["type"] == "wishlist.item_fulfilled"
    assert (message["quantity"], message["fulfilled_quantity"], message["wanted_quantity"]) == (1, 1, 2)
    assert message["buyer_id"] == FRIEND and message["order_id"] == "o-1"
    assert message["fulfilment_id"] == orders.fulfilment_id(SHOP, "o-1", "l-1")


def test_a_duplicate_paid_event_fulfils_once_and_notifies_once(wishlist, wish):
    handle(wish, event(wish))
    version = stored(wishlist, wish).version
    handle(wish, event(wish))
    assert counts(wish) == (0, 1, 1) and len(wishlist.published) == 1
    assert stored(wishlist, wish).version == version  # nothing was written


def test_a_cancel_releases_the_hold_once_and_never_undoes_a_payment(wishlist, wish):
    handle(wish, event(wish, "order.cancelled"))
    assert counts(wish) == (0, 0, 2) and stored(wishlist, wish).holds == {}
    handle(wish, event(wish, "order.cancelled"))  # a duplicate
    assert counts(wish) == (0, 0, 2)
    handle(wish, event(wish))  # the hold is gone: the payment takes open units
    handle(wish, event(wish, "order.cancelled"))
    assert counts(wish) == (0, 1, 1)


def test_a_payment_consumes_its_hold_even_just_expired(wishlist, wish, clock_at):
    clock_at(1800)
    assert counts(wish) == (0, 0, 2)
    handle(wish, event(wish))
    assert counts(wish) == (0, 1, 1) and stored(wishlist, wish).holds == {}


@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_a_crash_between_the_writes_of_a_payment_is_completed_once_by_the_rerun(wishlist, wish, crash_after):
    """The writes: the order index line, the fill, the ``notified`` mark (the publish sits
    between the last two). The process dies after write ``crash_after``; the message is
    redelivered and handled again."""
    wishlist.faults.crash_after = crash_after
    with pytest.raises(Crash):
        handle(wish, event(wish))
    handle(wish, event(wish))
    assert counts(wish) == (0, 1, 1)
    assert len(wishlist.published) == 1
    fill = stored(wishlist, wish).fills["o-1:l-1"]
    assert fill.counted == 1 and fill.notified
    handle(wish, event(wish))  # and a later duplicate changes nothing
    assert counts(wish) == (0, 1, 1) and len(wishlist.published) == 1


def test_a_failed_publish_is_retried_by_the_rerun_and_counted_once(wishlist, wish):
    wishlist.publish_failure = RuntimeError("sns is down")
    with pytest.raises(RuntimeError):
        handle(wish, event(wish))
    assert not stored(wishlist, wish).fills["o-1:l-1"].notified
    handle(wish, event(wish))
    assert counts(wish) == (0, 1, 1) and len(wishlist.published) == 1
    assert stored(wishlist, wish).fills["o-1:l-1"].notified


@pytest.mark.parametrize("crashing, crash_after", [("refund", 1), ("paid", 1), ("paid", 2)])
def test_a_refund_naming_no_item_survives_a_crash_and_nets_the_late_payment(
    wishlist, wish, crashing, crash_after
):
    """A refund whose event lists no lines is kept on the order (its one write: the payment's
    index line is not there yet); the payment comes later (index line, then the fill) and is
    counted net of it, whichever of them crashes and is redelivered."""
    refund = event(wish, "order.refunded", refund="rf-1", lines=False)
    paid = event(wish)
    for step in (refund, paid):
        if step.type == f"order.{crashing}":
            wishlist.faults.crash_after = crash_after
            with pytest.raises(Crash):
                handle(wish, step)
        handle(wish, step)
    assert counts(wish) == (0, 0, 2)
    fill = stored(wishlist, wish).fills["o-1:l-1"]
    assert fill.refunds == {"rf-1": 5000} and fill.paid and fill.counted == 0
    assert wishlist.published == []


def test_a_refund_after_the_payment_gives_the_unit_back_once(wishlist, wish):
    handle(wish, event(wish))
    refund = event(wish, "order.refunded", refund="rf-1", lines=False)
    handle(wish, refund)
    handle(wish, refund)
    assert counts(wish) == (0, 0, 2)
    assert stored(wishlist, wish).fills["o-1:l-1"].refunds == {"rf-1": 5000}


def test_events_for_an_unknown_item_are_dropped(wishlist, wish):
    gone = {**wish, "item_id": "it-missing"}
    handle(wish, event(gone))
    handle(wish, event(gone, "order.cancelled"))
    assert counts(wish) == (1, 0, 1) and wishlist.published == []
