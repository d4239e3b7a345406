"""Applying order and coupon messages to a customer's profile and the repurchase counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from campaign_shared.errors import NotFound
from campaign_shared.storage import retry
from chalicelib.audience.domain import counters
from chalicelib.audience.domain.profiles import OrderState, Profile
from chalicelib.audience.store.records import StoredProfile
from chalicelib.audience.usecases.common import Stores, stores

OrderChange = Callable[[OrderState], OrderState | None]
ATTEMPTS = 8


def apply(
    shop: str, customer_id: str, order_id: str, change: OrderChange, using: Stores | None = None
) -> bool:
    """Apply ``change`` to the order's state and write the profile with the counters' delta.

    False when the message changes nothing (a duplicate). A concurrent write of the same
    profile makes the version condition fail: read again and redo (the change is a pure
    function of the state, so redoing it is safe)."""
    s = using or stores()
    for _ in retry.attempts(ATTEMPTS, busy="the customer's profile is busy; retry shortly"):
        stored = s.profiles.get(shop, customer_id) or StoredProfile(customer_id=customer_id)
        order = stored.orders.get(order_id) or OrderState(order_id=order_id)
        changed = change(order)
        if changed is None:
            return False
        new = replace(stored, orders={**stored.orders, order_id: changed}, version=stored.version + 1)
        delta = counters.delta(stored.profile, new.profile)
        if s.profiles.save(shop, new, stored.version, delta):
            return True
    raise AssertionError("unreachable")  # pragma: no cover


def get_profile(shop: str, customer_id: str, using: Stores | None = None) -> Profile:
    stored = (using or stores()).profiles.get(shop, customer_id)
    if stored is None:
        raise NotFound("no profile for this customer")
    return stored.profile
