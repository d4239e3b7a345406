"""A friend's reservations: hold units of an item for a while, or give them back.

Taking a hold is one conditional write with no read (``ItemStore.reserve``). When it is
refused, the item returned with the refusal tells whether expired holds would make room: if
so they are released and the hold taken in the next conditional write; if not, nothing is
left (409). A retried write whose answer was lost is refused by its own hold, which carries
this request's fresh reservation id: that is a success, not a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, Forbidden, NotFound
from campaign_shared.storage import retry
from chalicelib.wishlist import domain
from chalicelib.wishlist.models import ReservationIn, ReservationOut
from chalicelib.wishlist.usecases import Stores, mutate_item, real_stores
from chalicelib.wishlist.usecases.sharing import shared

RESERVE_ATTEMPTS = 4


def reserve(
    shop: str, friend: str, token: str, item_id: str, body: ReservationIn, stores: Stores | None = None
) -> ReservationOut:
    """Hold ``quantity`` of an item for a friend; 409 ``nothing_left`` when less is open."""
    stores = stores or real_stores()
    link = shared(stores, shop, token)
    if link.owner == friend:
        raise Forbidden("the owner cannot reserve items of her own list", code="owner_cannot_reserve")
    now = clock.epoch(clock.now())
    reservation_id = ids.new_id("r")
    hold = domain.Hold(quantity=body.quantity, expires_at=now + body.hold_seconds, friend=friend)
    release: dict[str, int] = {}
    for _ in retry.attempts(RESERVE_ATTEMPTS, busy="the item is busy; retry shortly", base=0):
        outcome = stores.items.reserve(shop, link.list_id, item_id, reservation_id, hold, release)
        if outcome.taken:
            return ReservationOut(
                reservation_id=reservation_id,
                list_id=link.list_id,
                item_id=item_id,
                quantity=body.quantity,
                expires_at=clock.iso(datetime.fromtimestamp(hold.expires_at, UTC)),
            )
        if outcome.item is None:
            raise NotFound("no such item")
        try:
            release = domain.plan_reservation(outcome.item.state, body.quantity, now)
        except domain.NothingLeft as exc:
            raise Conflict(
                f"only {exc.open_quantity} of this item is still open", code="nothing_left"
            ) from None
    raise AssertionError("unreachable")  # retry.attempts raises when it runs out


def release(
    shop: str, friend: str, token: str, item_id: str, reservation_id: str, stores: Stores | None = None
) -> None:
    """A friend gives her own reservation back (404 if it is not hers or already gone)."""
    stores = stores or real_stores()
    link = shared(stores, shop, token)
    hers = False

    def change(state: domain.ItemState) -> domain.ItemState | None:
        nonlocal hers
        hold = state.holds.get(reservation_id)
        hers = hold is not None and hold.friend == friend
        return domain.release_hold(state, reservation_id) if hers else None

    if mutate_item(stores, shop, link.list_id, item_id, change) is None or not hers:
        raise NotFound("no such reservation")
