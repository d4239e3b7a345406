"""An ambiguous write (committed, but the answer was lost and the call retried) is not a
limit: found by fault injection (issue 8), where a retried create was answered 409."""

from __future__ import annotations

from campaign_shared import aws

ITEM = {"product_id": "p-1", "name": "Lamp", "unit_amount": 19900, "quantity": 1}


def _commit_twice(monkeypatch):
    """Every transaction runs twice, as when the first answer is lost and the call retried;
    the caller sees only the second answer."""
    client = aws.dynamodb()
    real = client.transact_write_items

    def twice(**kwargs):
        real(**kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", twice)


def test_a_retried_list_create_and_item_add_succeed_once(gateway, auth, monkeypatch):
    owner = auth("customer", "s1", "owner")
    _commit_twice(monkeypatch)
    created = gateway.post("/wishlist/lists", {"title": "Birthday"}, headers=owner)
    assert created.status_code == 201, created
    list_id = created.json()["list_id"]
    added = gateway.post(f"/wishlist/lists/{list_id}/items", ITEM, headers=owner)
    assert added.status_code == 201, added
    monkeypatch.undo()
    view = gateway.get(f"/wishlist/lists/{list_id}", headers=owner).json()
    assert [i["item_id"] for i in view["items"]] == [added.json()["item_id"]]
    assert len(gateway.get("/wishlist/lists", headers=owner).json()["items"]) == 1


def test_a_retried_reservation_of_the_last_units_is_taken_once(gateway, auth, monkeypatch):
    """Found by the careful-client fault suite: the hold was taken, its answer lost, and the
    retried conditional write failed against that very hold, answering 409 ``nothing_left``."""
    owner = auth("customer", "s1", "owner")
    list_id = gateway.post("/wishlist/lists", {"title": "Flat"}, headers=owner).json()["list_id"]
    item_id = gateway.post(f"/wishlist/lists/{list_id}/items", {**ITEM, "quantity": 2}, headers=owner).json()[
        "item_id"
    ]
    token = gateway.post(f"/wishlist/lists/{list_id}/share", headers=owner).json()["share_token"]
    client = aws.dynamodb()
    real = client.update_item

    def twice(**kwargs):
        real(**kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client, "update_item", twice)
    friend = auth("customer", "s1", "friend")
    reserved = gateway.post(
        f"/wishlist/shared/{token}/items/{item_id}/reservations", {"quantity": 2}, headers=friend
    )
    assert reserved.status_code == 201, reserved
    monkeypatch.undo()
    view = gateway.get(f"/wishlist/shared/{token}", headers=friend).json()
    assert [(i["reserved_quantity"], i["open_quantity"]) for i in view["items"]] == [(2, 0)]
