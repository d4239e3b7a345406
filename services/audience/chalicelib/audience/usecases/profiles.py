"""Applying messages to a customer's profile together with the counters' differences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from campaign_shared.errors import NotFound
from campaign_shared.storage import retry
from chalicelib.audience.domain import automations, counters
from chalicelib.audience.domain.profiles import OrderState, Profile
from chalicelib.audience.store.ports import CounterChanges
from chalicelib.audience.store.records import StoredProfile
from chalicelib.audience.usecases.common import Stores, stores

OrderChange = Callable[[OrderState], OrderState | None]
ProfileChange = Callable[[StoredProfile], StoredProfile | None]
ATTEMPTS = 8


def changes(old: StoredProfile, new: StoredProfile) -> CounterChanges:
    """The repurchase counters' and the lift counters' differences between two profiles."""
    found: CounterChanges = {}
    found.update(counters.delta(old.profile, new.profile).items())
    before = automations.lift_contribution(old.customer_id, old.orders, old.enrollments)
    after = automations.lift_contribution(new.customer_id, new.orders, new.enrollments)
    for cell in set(before) | set(after):
        a, b = before.get(cell, {}), after.get(cell, {})
        diff = {f: b.get(f, 0) - a.get(f, 0) for f in automations.LIFT_FIELDS}
        diff = {f: v for f, v in diff.items() if v}
        if diff:
            found[cell] = diff
    return found


def apply_profile(shop: str, customer_id: str, change: ProfileChange, using: Stores | None = None) -> bool:
    """Write ``change(profile)`` with the counters' differences, under the version read.

    False when the change changes nothing (a duplicate). A concurrent write of the same
    profile makes the version condition fail: read again and redo (the change is a pure
    function of the state, so redoing it is safe)."""
    s = using or stores()
    for _ in retry.attempts(ATTEMPTS, busy="the customer's profile is busy; retry shortly"):
        stored = s.profiles.get(shop, customer_id) or StoredProfile(customer_id=customer_id)
        changed = change(stored)
        if changed is None:
            return False
        new = replace(changed, version=stored.version + 1)
        if s.profiles.save(shop, new, stored.version, changes(stored, new)):
            return True
    raise AssertionError("unreachable")  # pragma: no cover


def apply(
    shop: str, customer_id: str, order_id: str, change: OrderChange, using: Stores | None = None
) -> bool:
    """Apply ``change`` to one order's state (see ``domain.profiles``)."""

    def on_profile(stored: StoredProfile) -> StoredProfile | None:
        order = stored.orders.get(order_id) or OrderState(order_id=order_id)
        changed = change(order)
        if changed is None:
            return None
        return replace(stored, orders={**stored.orders, order_id: changed})

    return apply_profile(shop, customer_id, on_profile, using)


def get_profile(shop: str, customer_id: str, using: Stores | None = None) -> Profile:
    stored = (using or stores()).profiles.get(shop, customer_id)
    if stored is None:
        raise NotFound("no profile for this customer")
    return stored.profile
