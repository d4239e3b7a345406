"""The reservation protocol on in-memory fakes (no moto): holds, expiry and release, a retried
reservation whose answer was lost, duplicates, and concurrent writers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from campaign_shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from chalicelib.wishlist.domain import Hold
from chalicelib.wishlist.models import ItemIn, ListIn, ReservationIn
from chalicelib.wishlist.usecases import lists, reservations, sharing

SHOP, OWNER, FRIEND, OTHER = "s1", "owner", "friend", "other"


@pytest.fixture
def wish(wishlist, clock_at):
    """A shared list of the owner with one item of quantity 2."""
    stores = wishlist.stores()
    list_id = lists.create_list(SHOP, OWNER, ListIn(title="Birthday"), stores).list_id
    item = ItemIn(product_id="p-1", name="Lamp", unit_amount=19900, quantity=2)
    item_id = lists.add_item(SHOP, OWNER, list_id, item, stores).item_id
    token = sharing.share(SHOP, OWNER, list_id, stores).share_token
    return {"list_id": list_id, "item_id": item_id, "token": token, "stores": stores}


def reserve(wish, friend=FRIEND, quantity=1, hold_seconds=1800):
    body = ReservationIn(quantity=quantity, hold_seconds=hold_seconds)
    return reservations.reserve(SHOP, friend, wish["token"], wish["item_id"], body, wish["stores"])


def stored(wishlist, wish):
    return wishlist.tables.items[(SHOP, wish["list_id"], wish["item_id"])]


def seen(wish):
    """(reserved, fulfilled, open) in a friend's view."""
    (item,) = sharing.public_view(SHOP, wish["token"], wish["stores"]).items
    return item.reserved_quantity, item.fulfilled_quantity, item.open_quantity


def test_a_hold_takes_open_units_and_the_rest_is_refused(wishlist, wish):
    taken = reserve(wish, quantity=2)
    assert (taken.quantity, taken.list_id, taken.item_id) == (2, wish["list_id"], wish["item_id"])
    assert taken.expires_at == "2026-11-01T12:30:00Z"
    with pytest.raises(Conflict) as refused:
        reserve(wish, friend=OTHER)
    assert refused.value.code == "nothing_left" and str(refused.value) == "only 0 of this item is still open"
    assert seen(wish) == (2, 0, 0)
    item = stored(wishlist, wish)
    expires = int(datetime(2026, 11, 1, 12, 30, tzinfo=UTC).timestamp())
    assert item.available == 0 and item.holds == {taken.reservation_id: Hold(2, expires, FRIEND)}


def test_an_expired_hold_frees_its_units_on_read_and_is_released_by_the_next_reservation(
    wishlist, wish, clock_at
):
    old = reserve(wish, quantity=2, hold_seconds=60)
    clock_at(60)
    assert seen(wish) == (0, 0, 2)  # expired on read, though still stored
    assert set(stored(wishlist, wish).holds) == {old.reservation_id}
    new = reserve(wish, friend=OTHER, quantity=2)
    item = stored(wishlist, wish)
    assert set(item.holds) == {new.reservation_id} and item.available == 0
    assert seen(wish) == (2, 0, 0)


def test_a_retried_reservation_of_the_last_units_is_taken_once(wishlist, wish):
    """The hold was taken, its answer lost, and the retried conditional write failed against
    that very hold: it is this request's own, so it is a success, not 409 nothing_left."""
    wishlist.faults.lost_answers = 1
    taken = reserve(wish, quantity=2)
    item = stored(wishlist, wish)
    assert set(item.holds) == {taken.reservation_id} and item.available == 0 and item.version == 1
    assert seen(wish) == (2, 0, 0)


def test_a_retried_reservation_that_released_expired_holds_is_taken_once(wishlist, wish, clock_at):
    reserve(wish, quantity=2, hold_seconds=60)
    clock_at(61)
    wishlist.faults.lost_answers = 2  # the refused first write, then the releasing one
    taken = reserve(wish, friend=OTHER, quantity=2)
    item = stored(wishlist, wish)
    assert set(item.holds) == {taken.reservation_id} and item.available == 0
    assert seen(wish) == (2, 0, 0)


def test_a_release_planned_on_a_hold_that_is_gone_meanwhile_is_refused_and_planned_again(
    wishlist, wish, clock_at
):
    """The stored counter alone would let the reservation through (the hold's units are back
    already): the write also requires every hold it releases to be there, or it would count
    the same units free twice."""
    first = reserve(wish, quantity=1, hold_seconds=60)
    clock_at(61)
    writes = []

    def meanwhile():
        writes.append(1)
        if len(writes) == 2:  # after the refused first write planned to release ``first``
            reservations.release(
                SHOP, FRIEND, wish["token"], wish["item_id"], first.reservation_id, wish["stores"]
            )

    wishlist.faults.before_reserve = meanwhile
    taken = reserve(wish, friend=OTHER, quantity=2)
    assert len(writes) == 3  # refused, refused (the hold was gone), taken
    item = stored(wishlist, wish)
    assert set(item.holds) == {taken.reservation_id} and item.available == 0
    assert item.available == item.state.available  # the counter matches the holds
    assert seen(wish) == (2, 0, 0)


def test_a_friend_gives_her_reservation_back_once(wishlist, wish):
    mine = reserve(wish, quantity=2)
    with pytest.raises(NotFound, match="no such reservation"):
        reservations.release(SHOP, OTHER, wish["token"], wish["item_id"], mine.reservation_id, wish["stores"])
    reservations.release(SHOP, FRIEND, wish["token"], wish["item_id"], mine.reservation_id, wish["stores"])
    assert seen(wish) == (0, 0, 2) and stored(wishlist, wish).available == 2
    with pytest.raises(NotFound, match="no such reservation"):  # a duplicate release
        reservations.release(
            SHOP, FRIEND, wish["token"], wish["item_id"], mine.reservation_id, wish["stores"]
        )
    assert seen(wish) == (0, 0, 2) and stored(wishlist, wish).available == 2


def test_two_reservations_of_one_friend_are_two_holds(wishlist, wish):
    a, b = reserve(wish), reserve(wish)
    assert a.reservation_id != b.reservation_id
    assert set(stored(wishlist, wish).holds) == {a.reservation_id, b.reservation_id}
    with pytest.raises(Conflict):
        reserve(wish)


def test_the_owner_unknown_items_and_tokens_are_refused(wishlist, wish):
    with pytest.raises(Forbidden) as owner:
        reserve(wish, friend=OWNER)
    assert owner.value.code == "owner_cannot_reserve"
    with pytest.raises(NotFound, match="no such item"):
        reservations.reserve(SHOP, FRIEND, wish["token"], "it-nope", ReservationIn(), wish["stores"])
    with pytest.raises(NotFound, match="no such share link"):
        reservations.reserve(SHOP, FRIEND, "short", wish["item_id"], ReservationIn(), wish["stores"])
    with pytest.raises(NotFound, match="no such share link"):
        reservations.reserve("s2", FRIEND, wish["token"], wish["item_id"], ReservationIn(), wish["stores"])
    assert stored(wishlist, wish).holds == {}


def test_a_release_losing_every_race_is_a_503(wishlist, wish, monkeypatch):
    from campaign_shared.storage import retry

    monkeypatch.setattr(retry.time, "sleep", lambda seconds: None)
    mine = reserve(wish)
    key = (SHOP, wish["list_id"], wish["item_id"])

    def concurrent_writer():
        wishlist.tables.items[key] = replace(
            wishlist.tables.items[key], version=wishlist.tables.items[key].version + 1
        )

    wishlist.faults.before_save = concurrent_writer
    with pytest.raises(ServiceUnavailable, match="the item is busy; retry shortly"):
        reservations.release(
            SHOP, FRIEND, wish["token"], wish["item_id"], mine.reservation_id, wish["stores"]
        )
    assert mine.reservation_id in stored(wishlist, wish).holds


def test_a_release_losing_one_race_reads_again_and_lands(wishlist, wish):
    mine, other = reserve(wish), reserve(wish, friend=OTHER)
    key = (SHOP, wish["list_id"], wish["item_id"])
    raced = []

    def concurrent_writer():
        if not raced:
            raced.append(1)
            wishlist.tables.items[key] = replace(
                wishlist.tables.items[key], version=wishlist.tables.items[key].version + 1
            )

    wishlist.faults.before_save = concurrent_writer
    reservations.release(SHOP, FRIEND, wish["token"], wish["item_id"], mine.reservation_id, wish["stores"])
    item = stored(wishlist, wish)
    assert set(item.holds) == {other.reservation_id} and item.available == 1
