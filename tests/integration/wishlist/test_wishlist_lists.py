"""Lists, items, caps, ownership and bad input (in-process gateway over moto)."""

from __future__ import annotations

ITEM = {"product_id": "p-1", "name": "Kindle", "unit_amount": 49900, "quantity": 2}


def _create(gateway, auth, sub="owner", shop="s1", **body):
    response = gateway.post(
        "/wishlist/lists", {"title": "Birthday", **body}, headers=auth("customer", shop, sub)
    )
    assert response.status_code == 201, response
    return response.json()


def _add(gateway, auth, list_id, sub="owner", shop="s1", **item):
    return gateway.post(
        f"/wishlist/lists/{list_id}/items", {**ITEM, **item}, headers=auth("customer", shop, sub)
    )


def test_owner_creates_a_list_adds_items_and_reads_them_back(gateway, auth):
    created = _create(gateway, auth, occasion="birthday", surprise=True)
    assert (
        created["title"] == "Birthday" and created["occasion"] == "birthday" and created["surprise"] is True
    )
    assert created["items"] == [] and created["share_token"] is None
    list_id = created["list_id"]
    first = _add(gateway, auth, list_id)
    assert first.status_code == 201, first
    item = first.json()
    assert item["quantity"] == 2 and item["unit_amount"] == 49900 and item["name"] == "Kindle"
    assert (item["reserved_quantity"], item["fulfilled_quantity"], item["open_quantity"]) == (0, 0, 2)
    _add(gateway, auth, list_id, product_id="p-2", name="Tea", quantity=1)

    view = gateway.get(f"/wishlist/lists/{list_id}", headers=auth("customer", "s1", "owner"))
    assert view.status_code == 200
    body = view.json()
    assert [i["name"] for i in body["items"]] == ["Kindle", "Tea"]
    assert body["item_count"] == 2

    mine = gateway.get("/wishlist/lists", headers=auth("customer", "s1", "owner")).json()
    assert [entry["list_id"] for entry in mine["items"]] == [list_id] and mine["next_cursor"] is None


def test_only_the_owner_sees_or_changes_a_list(gateway, auth):
    list_id = _create(gateway, auth)["list_id"]
    item_id = _add(gateway, auth, list_id).json()["item_id"]
    for shop, sub in (("s1", "friend"), ("s2", "owner")):  # another customer; the same id in another shop
        headers = auth("customer", shop, sub)
        assert gateway.get(f"/wishlist/lists/{list_id}", headers=headers).status_code == 404
        assert _add(gateway, auth, list_id, sub=sub, shop=shop).status_code == 404
        assert (
            gateway.delete(f"/wishlist/lists/{list_id}/items/{item_id}", headers=headers).status_code == 404
        )
        assert gateway.post(f"/wishlist/lists/{list_id}/share", headers=headers).status_code == 404
        assert gateway.delete(f"/wishlist/lists/{list_id}/share", headers=headers).status_code == 404
        assert gateway.delete(f"/wishlist/lists/{list_id}", headers=headers).status_code == 404
    assert (
        gateway.get(f"/wishlist/lists/{list_id}", headers=auth("merchant", "s1", "owner")).status_code == 403
    )
    assert gateway.get(f"/wishlist/lists/{list_id}").status_code == 401
    # Nothing changed for the owner, and the list was never shared.
    view = gateway.get(f"/wishlist/lists/{list_id}", headers=auth("customer", "s1", "owner")).json()
    assert [i["item_id"] for i in view["items"]] == [item_id] and view["share_token"] is None


def test_deleting_an_item_removes_it_and_frees_its_place(gateway, auth):
    list_id = _create(gateway, auth)["list_id"]
    item_id = _add(gateway, auth, list_id).json()["item_id"]
    path = f"/wishlist/lists/{list_id}/items/{item_id}"
    assert gateway.delete(path, headers=auth("customer", "s1", "owner")).status_code == 204
    assert gateway.delete(path, headers=auth("customer", "s1", "owner")).status_code == 404
    view = gateway.get(f"/wishlist/lists/{list_id}", headers=auth("customer", "s1", "owner")).json()
    assert view["items"] == [] and view["item_count"] == 0


def test_a_list_holds_at_most_100_items(gateway, auth):
    list_id = _create(gateway, auth)["list_id"]
    for n in range(100):
        assert _add(gateway, auth, list_id, product_id=f"p-{n}").status_code == 201
    extra = _add(gateway, auth, list_id, product_id="p-100")
    assert extra.status_code == 409 and extra.json()["error"]["code"] == "item_limit_reached"
    view = gateway.get(f"/wishlist/lists/{list_id}", headers=auth("customer", "s1", "owner")).json()
    assert len(view["items"]) == 100 and view["item_count"] == 100


def test_a_customer_keeps_at_most_20_lists_and_deleting_one_frees_a_place(gateway, auth):
    ids = [_create(gateway, auth, title=f"List {n}")["list_id"] for n in range(19)]
    ids.append(_create(gateway, auth)["list_id"])
    refused = gateway.post("/wishlist/lists", {"title": "one more"}, headers=auth("customer", "s1", "owner"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "list_limit_reached"
    # Another customer is not affected.
    _create(gateway, auth, sub="someone-else")
    page = gateway.get("/wishlist/lists?limit=15", headers=auth("customer", "s1", "owner")).json()
    assert len(page["items"]) == 15 and page["next_cursor"]
    rest = gateway.get(
        f"/wishlist/lists?limit=15&cursor={page['next_cursor']}", headers=auth("customer", "s1", "owner")
    )
    assert len(rest.json()["items"]) == 5
    assert (
        gateway.delete(f"/wishlist/lists/{ids[0]}", headers=auth("customer", "s1", "owner")).status_code
        == 204
    )
    assert (
        gateway.get(f"/wishlist/lists/{ids[0]}", headers=auth("customer", "s1", "owner")).status_code == 404
    )
    _create(gateway, auth, title="after delete")


BAD_ITEMS = [
    {"quantity": 0},
    {"quantity": 1000},
    {"quantity": -1},
    {"quantity": 1.5},
    {"quantity": "2"},
    {"quantity": True},
    {"quantity": None},
    {"name": "x" * 201},
    {"name": ""},
    {"name": "   "},
    {"unit_amount": -1},
    {"unit_amount": 10**12},
    {"unit_amount": 99.5},
    {"product_id": "bad id with spaces"},
    {"product_id": "p" * 129},
    {"colour": "red"},
]


def test_bad_items_are_400_and_nothing_is_written(gateway, auth):
    list_id = _create(gateway, auth)["list_id"]
    for change in BAD_ITEMS:
        response = _add(gateway, auth, list_id, **change)
        assert response.status_code == 400, (change, response)
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["details"], change
    missing = gateway.post(
        f"/wishlist/lists/{list_id}/items", {"name": "x"}, headers=auth("customer", "s1", "owner")
    )
    assert missing.status_code == 400
    view = gateway.get(f"/wishlist/lists/{list_id}", headers=auth("customer", "s1", "owner")).json()
    assert view["items"] == [] and view["item_count"] == 0
    # The bounds themselves are fine.
    response = _add(gateway, auth, list_id, name="x" * 200, quantity=999)
    assert response.status_code == 201 and response.json()["quantity"] == 999


def test_bad_lists_are_400_and_nothing_is_written(gateway, auth):
    bad = [
        {},
        {"title": ""},
        {"title": "t" * 201},
        {"title": "t", "surprise": "yes"},
        {"title": "t", "owner": "x"},
    ]
    for body in bad:
        response = gateway.post("/wishlist/lists", body, headers=auth("customer", "s1", "owner"))
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", body
    for raw in (b"{not json", b'"a string"', b"[]"):
        response = gateway.request(
            "POST", "/wishlist/lists", body=raw, headers=auth("customer", "s1", "owner")
        )
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", raw
    assert gateway.get("/wishlist/lists", headers=auth("customer", "s1", "owner")).json()["items"] == []


def test_idempotency_key_replays_the_first_list(gateway, auth):
    headers = auth("customer", "s1", "owner", **{"idempotency-key": "k-1"})
    first = gateway.post("/wishlist/lists", {"title": "Once"}, headers=headers)
    again = gateway.post("/wishlist/lists", {"title": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["list_id"] == again.json()["list_id"]
    assert len(gateway.get("/wishlist/lists", headers=auth("customer", "s1", "owner")).json()["items"]) == 1


def test_openapi_documents_the_wishlist_routes(gateway):
    doc = gateway.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/wishlist/lists", "post"),
        ("/wishlist/lists/{list_id}", "get"),
        ("/wishlist/lists/{list_id}/items", "post"),
        ("/wishlist/lists/{list_id}/items/{item_id}", "delete"),
        ("/wishlist/lists/{list_id}/share", "post"),
        ("/wishlist/lists/{list_id}/share", "delete"),
        ("/wishlist/shared/{share_token}", "get"),
        ("/wishlist/shared/{share_token}/items/{item_id}/reservations", "post"),
    ]:
        assert method in paths[path], (path, method)
    reserve = paths["/wishlist/shared/{share_token}/items/{item_id}/reservations"]["post"]
    assert "201" in reserve["responses"] and "409" in reserve["responses"]


def test_ids_containing_the_key_separator_are_refused_at_the_door(gateway, auth):
    """A token whose shop or subject holds the key separator never reaches storage (one
    identity alphabet, campaign_shared.types): 401, so no key can be forged across shops."""
    for shop, sub in (("a", "b#c"), ("a#b", "c"), ("a", "b%23c")):
        response = gateway.get("/wishlist/lists", headers=auth("customer", shop, sub))
        assert response.status_code == 401, (shop, sub, response)
        assert response.json()["error"]["code"] == "unauthorized"
    mine = _create(gateway, auth, sub="b.c@example.com", shop="a", title="shop a")
    assert (
        gateway.get("/wishlist/lists", headers=auth("customer", "a.b", "c@example.com")).json()["items"] == []
    )
    own = gateway.get("/wishlist/lists", headers=auth("customer", "a", "b.c@example.com")).json()
    assert [entry["list_id"] for entry in own["items"]] == [mine["list_id"]]
