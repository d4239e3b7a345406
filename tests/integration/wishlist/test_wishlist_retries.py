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
