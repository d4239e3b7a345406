"""Accepting an order event: publish once per ``event_id``; a duplicate is harmless.

The event's record is created first, by a conditional write, with the fingerprint of its
body: of any number of concurrent posts of one ``event_id`` exactly one creates it. A post
whose body differs from the recorded one is 409 ``event_id_reused``; the same body is 202.
The event is then published and its record marked ``published``. A crash (or a failed
publish) between the two leaves the record ``pending``: the storefront's retry of the same
event publishes it then. Consumers are idempotent, so publishing twice is harmless;
publishing never is what the order prevents.
"""

from __future__ import annotations

from campaign_shared import messaging
from campaign_shared.errors import Conflict
from campaign_shared.events import OrderEvent
from chalicelib.events import store


def accept(shop: str, event: OrderEvent) -> bool:
    """Publish ``event`` for ``shop``; False when it had already been published."""
    message = event.model_copy(update={"shop": shop}).model_dump(mode="json", exclude_none=True)
    digest = store.fingerprint(message)
    existing = store.claim(shop, event.event_id, digest, event.type)
    if existing is not None:
        if existing["digest"] != digest:
            raise Conflict(f"event {event.event_id} was accepted with another body", code="event_id_reused")
        if existing.get("status", "published") == "published":  # records before 2026-12 had none
            return False
    messaging.publish("order-events", message)
    store.mark_published(shop, event.event_id)
    return True
