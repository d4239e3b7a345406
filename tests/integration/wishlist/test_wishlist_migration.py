"""Data saved before the stored names were made self-explaining still loads, and still
updates: an item with ``qty``, ``fulfilled_q``, holds ``"<q>|<exp>|<by>"`` and fills with
``lq amt g rf by at n``, and an order line with ``line_q``, written straight to the table."""

from __future__ import annotations

import json

OWNER, FRIEND = "owner", "friend"
FAR = 4_000_000_000  # a hold that has not expired


def _table() -> str:
    from campaign_shared.resources import table_name
    from campaign_shared.settings import get_settings

    return table_name(get_settings().stage, "wishlist", "main")


def _plain_put(aws, item):
    from campaign_shared.storage import codec

    aws["dynamodb"].put_item(TableName=_table(), Item=codec.to_item(item))


def _raw(aws, pk, sk):
    from campaign_shared.storage import codec

    found = aws["dynamodb"].get_item(TableName=_table(), Key={"pk": {"S": pk}, "sk": {"S": sk}})
    return codec.from_item(found.get("Item"))


def _old_item(gateway, auth, aws):
    """A shared list whose one item (3 wanted: 1 bought by ``b``, 1 held by ``friend``) was
    saved in the old format."""
    owner = auth("customer", "s1", OWNER)
    list_id = gateway.post("/wishlist/lists", {"title": "Old"}, headers=owner).json()["list_id"]
    token = gateway.post(f"/wishlist/lists/{list_id}/share", headers=owner).json()["share_token"]
    info = {
        "item_id": "it-old",
        "list_id": list_id,
        "product_id": "p-1",
        "name": "Teapot",
        "unit_amount": 5000,
        "added_at": "2026-11-01T00:00:00Z",
    }
    fills = {
        "o-0:l-0": {"paid": True, "lq": 1, "amt": 5000, "g": 1, "rf": {}, "by": "b", "at": "t", "n": True}
    }
    _plain_put(
        aws,
        {
            "pk": f"L#s1#{list_id}",
            "sk": "item#it-old",
            "info": json.dumps(info),
            "owner": OWNER,
            "surprise": False,
            "qty": 3,
            "avail": 1,
            "fulfilled_q": 1,
            "holds": {"r-old": f"1|{FAR}|{FRIEND}"},
            "fills": json.dumps(fills),
            "ver": 2,
        },
    )
    aws["dynamodb"].update_item(
        TableName=_table(),
        Key={"pk": {"S": f"L#s1#{list_id}"}, "sk": {"S": "list"}},
        UpdateExpression="SET item_count = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    return {"list_id": list_id, "item_id": "it-old", "token": token}


def test_an_old_item_is_read_by_the_owner_and_a_friend(gateway, auth, aws):
    wish = _old_item(gateway, auth, aws)
    view = gateway.get(f"/wishlist/lists/{wish['list_id']}", headers=auth("customer", "s1", OWNER)).json()
    (item,) = view["items"]
    assert (
        item["quantity"],
        item["reserved_quantity"],
        item["fulfilled_quantity"],
        item["open_quantity"],
    ) == (
        3,
        1,
        1,
        1,
    )
    assert item["fulfilled_by"] == [{"customer_id": "b", "quantity": 1, "fulfilled_at": "t"}]
    public = gateway.get(f"/wishlist/shared/{wish['token']}", headers=auth("customer", "s1", FRIEND)).json()
    (seen,) = public["items"]
    assert (
        seen["quantity"],
        seen["reserved_quantity"],
        seen["fulfilled_quantity"],
        seen["open_quantity"],
    ) == (
        3,
        1,
        1,
        1,
    )


def test_an_old_item_takes_a_reservation_and_is_rewritten_in_the_new_form(gateway, auth, aws, drain):
    from campaign_shared import messaging

    wish = _old_item(gateway, auth, aws)
    path = f"/wishlist/shared/{wish['token']}/items/{wish['item_id']}/reservations"
    other = auth("customer", "s1", "other")
    taken = gateway.post(path, {"quantity": 1}, headers=other)
    assert taken.status_code == 201, taken
    refused = gateway.post(path, {"quantity": 1}, headers=other)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "nothing_left"
    # The old hold is released by the friend (a versioned save of the old item).
    released = gateway.delete(f"{path}/r-old", headers=auth("customer", "s1", FRIEND))
    assert released.status_code == 204, released
    stored = _raw(aws, f"L#s1#{wish['list_id']}", "item#it-old")
    assert "qty" not in stored and "fulfilled_q" not in stored
    assert (stored["quantity"], stored["fulfilled_quantity"], stored["avail"]) == (3, 1, 1)
    assert set(stored["holds"]) == {taken.json()["reservation_id"]}
    (hold,) = stored["holds"].values()
    assert json.loads(hold)["friend"] == "other"
    assert json.loads(stored["fills"])["o-0:l-0"]["line_quantity"] == 1
    # An order event on the migrated item, and a refund that finds an old order line.
    _plain_put(
        aws,
        {
            "pk": "OR#s1#o-old",
            "sk": "line#l-1",
            "list_id": wish["list_id"],
            "item_id": wish["item_id"],
            "line_q": 1,
            "paid_amount": 5000,
        },
    )
    event = {
        "event_id": "e-r",
        "type": "order.refunded",
        "order_id": "o-old",
        "customer_id": "b",
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [],
        "refund": {"refund_id": "rf-1", "lines": [{"line_id": "l-1", "amount": 5000}]},
        "shop": "s1",
    }
    messaging.send("wishlist", event)
    assert drain("wishlist")["wishlist"]["failed"] == 0
    stored = _raw(aws, f"L#s1#{wish['list_id']}", "item#it-old")
    assert json.loads(stored["fills"])["o-old:l-1"] == {
        "paid": False,
        "line_quantity": 1,
        "paid_amount": 5000,
        "granted": 0,
        "refunds": {"rf-1": 5000},
        "buyer": None,
        "paid_at": None,
        "notified": False,
    }
