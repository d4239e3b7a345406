"""The stored form of the wishlist's records: round trips, and data saved before the renames
(``qty``, ``fulfilled_q``, holds ``"<q>|<exp>|<by>"``, fills ``lq amt g rf by at n``,
``line_q``) still loads."""

from __future__ import annotations

import json

from chalicelib.wishlist.domain import Fill, Hold
from chalicelib.wishlist.store import records
from chalicelib.wishlist.store.records import ItemRecord, OrderLineRecord

OLD_ITEM = {
    "pk": "L#s1#wl-1",
    "sk": "item#it-1",
    "info": json.dumps(
        {
            "item_id": "it-1",
            "list_id": "wl-1",
            "product_id": "p-1",
            "name": "Teapot",
            "unit_amount": 5000,
            "added_at": "2026-11-01T00:00:00Z",
        }
    ),
    "owner": "owner",
    "surprise": False,
    "qty": 3,
    "avail": 0,
    "fulfilled_q": 1,
    "holds": {"r-1": "2|1800000000|friend"},
    "fills": json.dumps(
        {"o-1:l-1": {"paid": True, "lq": 1, "amt": 5000, "g": 1, "rf": {}, "by": "b", "at": "t", "n": True}}
    ),
    "ver": 4,
}


def test_fill_round_trips_through_its_stored_form():
    fill = Fill(
        paid=True,
        line_quantity=2,
        paid_amount=900,
        granted=1,
        refunds={"r": 5},
        buyer="b",
        paid_at="t",
        notified=True,
    )
    assert records.decode_fills(records.encode_fills({"o:l": fill})) == {"o:l": fill}


def test_hold_round_trips_and_explains_itself():
    hold = Hold(quantity=2, expires_at=1_800_000_000, friend="alice@example.com")
    stored = records.encode_hold(hold)
    assert json.loads(stored) == {"quantity": 2, "expires_at": 1_800_000_000, "friend": "alice@example.com"}
    assert records.decode_hold(stored) == hold


def test_an_item_saved_before_the_renames_loads():
    item = ItemRecord.from_item(OLD_ITEM)
    assert (item.quantity, item.available, item.fulfilled_quantity, item.version) == (3, 0, 1, 4)
    assert item.holds == {"r-1": Hold(quantity=2, expires_at=1_800_000_000, friend="friend")}
    assert item.fills == {
        "o-1:l-1": Fill(
            paid=True,
            line_quantity=1,
            paid_amount=5000,
            granted=1,
            refunds={},
            buyer="b",
            paid_at="t",
            notified=True,
        )
    }
    assert item.state.fulfilled == 1 and item.state.available == 0
    assert (item.item_id, item.list_id, item.name, item.unit_amount) == ("it-1", "wl-1", "Teapot", 5000)


def test_an_item_round_trips_in_the_new_form():
    item = ItemRecord.from_item(OLD_ITEM)
    stored = item.to_item("s1")
    assert "qty" not in stored and "fulfilled_q" not in stored
    assert stored["quantity"] == 3 and stored["fulfilled_quantity"] == 1
    assert stored["avail"] == 0 and stored["ver"] == 4  # the names conditions test are kept
    assert (stored["pk"], stored["sk"]) == (OLD_ITEM["pk"], OLD_ITEM["sk"])
    assert ItemRecord.from_item(stored) == item


def test_holds_of_both_forms_live_side_by_side():
    holds = records.decode_holds(
        {"old": "1|100|a", "new": records.encode_hold(Hold(quantity=2, expires_at=200, friend="b"))}
    )
    assert holds == {"old": Hold(1, 100, "a"), "new": Hold(2, 200, "b")}


def test_an_order_line_saved_before_the_rename_loads():
    old = {"list_id": "wl-1", "item_id": "it-1", "line_q": 2, "paid_amount": 900, "expires_at_epoch": 1}
    line = OrderLineRecord.from_item("o-1", "l-1", old)
    assert line == OrderLineRecord("o-1", "l-1", "wl-1", "it-1", 2, 900)
    stored = line.to_item("s1", 7)
    assert stored["line_quantity"] == 2 and "line_q" not in stored
    assert OrderLineRecord.from_item("o-1", "l-1", stored) == line
