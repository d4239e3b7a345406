"""Share links, the public view and reservations (in-process gateway over moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

OWNER, FRIEND, OTHER = "owner", "friend", "other-friend"


@pytest.fixture
def clock_at(monkeypatch):
    """Move the services' clock: ``clock_at(seconds)`` sets now to a fixed start + seconds."""
    from campaign_shared import clock

    start = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    state = {"now": start}
    monkeypatch.setattr(clock, "now", lambda: state["now"])

    def move(seconds: float) -> datetime:
        state["now"] = start + timedelta(seconds=seconds)
        return state["now"]

    return move


@pytest.fixture
def shared(gateway, auth):
    """A surprise list of the owner with one item of quantity 1 and one of quantity 3, shared."""
    headers = auth("customer", "s1", OWNER)
    created = gateway.post(
        "/wishlist/lists", {"title": "Birthday", "occasion": "30th"}, headers=headers
    ).json()
    list_id = created["list_id"]
    items = [
        gateway.post(
            f"/wishlist/lists/{list_id}/items",
            {"product_id": f"p-{q}", "name": f"Gift {q}", "unit_amount": 1000 * q, "quantity": q},
            headers=headers,
        ).json()["item_id"]
        for q in (1, 3)
    ]
    share = gateway.post(f"/wishlist/lists/{list_id}/share", headers=headers)
    assert share.status_code == 201, share
    return {"list_id": list_id, "one": items[0], "three": items[1], **share.json()}


def _reserve(gateway, auth, token, item_id, sub=FRIEND, shop="s1", **body):
    return gateway.post(
        f"/wishlist/shared/{token}/items/{item_id}/reservations", body, headers=auth("customer", shop, sub)
    )


def _public(gateway, auth, token, sub=FRIEND, shop="s1"):
    return gateway.get(f"/wishlist/shared/{token}", headers=auth("customer", shop, sub))


def _item(view, item_id):
    (found,) = [i for i in view["items"] if i["item_id"] == item_id]
    return found


def test_share_gives_an_unguessable_url_safe_token_and_url(shared):
    token = shared["share_token"]
    assert len(token) == 24 and all(c.isalnum() or c in "-_" for c in token)  # 144 random bits
    assert shared["url"] == f"http://gateway.test/wishlist/shared/{token}"


def test_sharing_a_shared_list_again_returns_the_same_link(gateway, auth, shared):
    again = gateway.post(f"/wishlist/lists/{shared['list_id']}/share", headers=auth("customer", "s1", OWNER))
    assert again.status_code == 201 and again.json()["share_token"] == shared["share_token"]


def test_public_view_shows_open_quantities_and_no_identity(gateway, auth, shared):
    assert _reserve(gateway, auth, shared["share_token"], shared["three"], quantity=2).status_code == 201
    response = _public(gateway, auth, shared["share_token"], sub=OTHER)
    assert response.status_code == 200
    view = response.json()
    assert view["title"] == "Birthday" and view["occasion"] == "30th" and view["list_id"] == shared["list_id"]
    three = _item(view, shared["three"])
    counts = [three[k] for k in ("quantity", "reserved_quantity", "fulfilled_quantity", "open_quantity")]
    assert counts == [3, 2, 0, 1]
    text = json.dumps(view)
    assert OWNER not in text and FRIEND not in text


def test_revoked_token_is_404_at_once_and_sharing_again_issues_a_new_token(gateway, auth, shared):
    old = shared["share_token"]
    owner = auth("customer", "s1", OWNER)
    assert gateway.delete(f"/wishlist/lists/{shared['list_id']}/share", headers=owner).status_code == 204
    gone = _public(gateway, auth, old)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert _reserve(gateway, auth, old, shared["one"]).status_code == 404
    assert gateway.get(f"/wishlist/lists/{shared['list_id']}", headers=owner).json()["share_token"] is None
    # Revoking twice is harmless.
    assert gateway.delete(f"/wishlist/lists/{shared['list_id']}/share", headers=owner).status_code == 204
    new = gateway.post(f"/wishlist/lists/{shared['list_id']}/share", headers=owner).json()["share_token"]
    assert new != old
    assert _public(gateway, auth, new).status_code == 200
    assert _public(gateway, auth, old).status_code == 404


def test_a_token_of_the_wrong_shape_is_404(gateway, auth, shared):
    for token in ("short", "x" * 23, "x" * 25, "a" * 23 + "!", "a" * 23 + ".", shared["share_token"] + "a"):
        assert _public(gateway, auth, token).status_code == 404, token
        response = _reserve(gateway, auth, token, shared["one"])
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", token
    assert (
        _item(_public(gateway, auth, shared["share_token"]).json(), shared["one"])["reserved_quantity"] == 0
    )


def test_a_link_of_another_shop_is_404(gateway, auth, shared):
    assert _public(gateway, auth, shared["share_token"], shop="s2").status_code == 404
    assert _reserve(gateway, auth, shared["share_token"], shared["one"], shop="s2").status_code == 404


def test_only_customers_use_share_links(gateway, auth, shared):
    token = shared["share_token"]
    assert gateway.get(f"/wishlist/shared/{token}", headers=auth("merchant", "s1", "m")).status_code == 403
    assert gateway.get(f"/wishlist/shared/{token}").status_code == 401


def test_a_reservation_holds_quantity_for_30_minutes_by_default(gateway, auth, shared, clock_at):
    now = clock_at(0)
    response = _reserve(gateway, auth, shared["share_token"], shared["one"])
    assert response.status_code == 201, response
    body = response.json()
    assert body["quantity"] == 1 and body["item_id"] == shared["one"] and body["reservation_id"]
    assert body["expires_at"] == (now + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused = _reserve(gateway, auth, shared["share_token"], shared["one"], sub=OTHER)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "nothing_left"
    clock_at(29 * 60 + 59)
    assert _reserve(gateway, auth, shared["share_token"], shared["one"], sub=OTHER).status_code == 409


def test_an_expired_reservation_frees_its_quantity(gateway, auth, shared, clock_at):
    clock_at(0)
    assert _reserve(gateway, auth, shared["share_token"], shared["three"], quantity=3).status_code == 201
    assert _item(_public(gateway, auth, shared["share_token"]).json(), shared["three"])["open_quantity"] == 0
    clock_at(30 * 60)
    item = _item(_public(gateway, auth, shared["share_token"]).json(), shared["three"])
    assert (item["reserved_quantity"], item["open_quantity"]) == (0, 3)
    owner_view = gateway.get(
        f"/wishlist/lists/{shared['list_id']}", headers=auth("customer", "s1", OWNER)
    ).json()
    assert _item(owner_view, shared["three"])["reserved_quantity"] == 0
    # Another friend can now take all of it, in one go.
    again = _reserve(gateway, auth, shared["share_token"], shared["three"], sub=OTHER, quantity=3)
    assert again.status_code == 201
    item = _item(_public(gateway, auth, shared["share_token"]).json(), shared["three"])
    assert (item["reserved_quantity"], item["open_quantity"]) == (3, 0)


def test_a_short_hold_may_be_asked_for(gateway, auth, shared, clock_at):
    clock_at(0)
    body = _reserve(gateway, auth, shared["share_token"], shared["one"], hold_seconds=60).json()
    assert body["expires_at"] == "2026-11-01T12:01:00Z"
    clock_at(60)
    assert _reserve(gateway, auth, shared["share_token"], shared["one"], sub=OTHER).status_code == 201


def test_reserved_never_exceeds_open_quantity(gateway, auth, shared):
    token, item = shared["share_token"], shared["three"]
    assert _reserve(gateway, auth, token, item, quantity=2).status_code == 201
    over = _reserve(gateway, auth, token, item, sub=OTHER, quantity=2)
    assert over.status_code == 409 and over.json()["error"]["code"] == "nothing_left"
    assert "1" in over.json()["error"]["message"]
    assert _reserve(gateway, auth, token, item, sub=OTHER, quantity=1).status_code == 201
    assert _reserve(gateway, auth, token, item, sub="third").status_code == 409
    view = _item(_public(gateway, auth, token).json(), item)
    assert (view["reserved_quantity"], view["open_quantity"]) == (3, 0)


def test_the_owner_cannot_reserve_on_her_own_list(gateway, auth, shared):
    response = _reserve(gateway, auth, shared["share_token"], shared["one"], sub=OWNER)
    assert response.status_code == 403 and response.json()["error"]["code"] == "owner_cannot_reserve"
    assert (
        _item(_public(gateway, auth, shared["share_token"]).json(), shared["one"])["reserved_quantity"] == 0
    )


BAD_RESERVATIONS = [
    {"quantity": 0},
    {"quantity": 1000},
    {"quantity": "1"},
    {"hold_seconds": 0},
    {"hold_seconds": 86400},
    {"who": "me"},
]


def test_bad_reservations_are_400_and_nothing_is_held(gateway, auth, shared):
    for body in BAD_RESERVATIONS:
        response = _reserve(gateway, auth, shared["share_token"], shared["three"], **body)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", body
    malformed = gateway.request(
        "POST",
        f"/wishlist/shared/{shared['share_token']}/items/{shared['three']}/reservations",
        body=b"[1, 2]",
        headers=auth("customer", "s1", FRIEND),
    )
    assert malformed.status_code == 400
    assert (
        _item(_public(gateway, auth, shared["share_token"]).json(), shared["three"])["reserved_quantity"] == 0
    )


def test_reserving_an_unknown_or_deleted_item_is_404(gateway, auth, shared):
    assert _reserve(gateway, auth, shared["share_token"], "it-nope").status_code == 404
    owner = auth("customer", "s1", OWNER)
    path = f"/wishlist/lists/{shared['list_id']}/items/{shared['one']}"
    assert gateway.delete(path, headers=owner).status_code == 204
    assert _reserve(gateway, auth, shared["share_token"], shared["one"]).status_code == 404


def test_a_friend_may_give_her_reservation_back(gateway, auth, shared):
    token, item = shared["share_token"], shared["one"]
    rid = _reserve(gateway, auth, token, item).json()["reservation_id"]
    path = f"/wishlist/shared/{token}/items/{item}/reservations/{rid}"
    # Not hers: 404, and the hold stays.
    assert gateway.delete(path, headers=auth("customer", "s1", OTHER)).status_code == 404
    assert _reserve(gateway, auth, token, item, sub=OTHER).status_code == 409
    assert gateway.delete(path, headers=auth("customer", "s1", FRIEND)).status_code == 204
    assert gateway.delete(path, headers=auth("customer", "s1", FRIEND)).status_code == 404
    assert _reserve(gateway, auth, token, item, sub=OTHER).status_code == 201


def test_idempotency_key_replays_a_reservation_instead_of_holding_twice(gateway, auth, shared):
    headers = auth("customer", "s1", FRIEND, **{"idempotency-key": "r-1"})
    path = f"/wishlist/shared/{shared['share_token']}/items/{shared['three']}/reservations"
    first = gateway.post(path, {"quantity": 1}, headers=headers)
    again = gateway.post(path, {"quantity": 1}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["reservation_id"] == again.json()["reservation_id"]
    assert (
        _item(_public(gateway, auth, shared["share_token"]).json(), shared["three"])["reserved_quantity"] == 1
    )
