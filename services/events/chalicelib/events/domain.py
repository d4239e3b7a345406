"""Accepting an order event: publish once per ``event_id``; a duplicate is harmless.

The event is published before it is recorded, so a failure between the two can only
publish it again on retry, never lose it; every consumer is idempotent on business keys.
The same ``event_id`` with a different body is refused (409 ``event_id_reused``).
"""

from __future__ import annotations

from campaign_shared import messaging
from campaign_shared.errors import Conflict
from campaign_shared.events import OrderEvent
from chalicelib.events import store


def accept(shop: str, event: OrderEvent) -> bool:
    """Publish ``event`` for ``shop``; False when it had already been accepted."""
    message = event.model_copy(update={"shop": shop}).model_dump(mode="json", exclude_none=True)
    digest = store.fingerprint(message)
    existing = store.find(shop, event.event_id)
    if existing is not None:
        if existing["digest"] != digest:
            raise Conflict(f"event {event.event_id} was accepted with another body", code="event_id_reused")
        return False
    messaging.publish("order-events", message)
    store.record_published(shop, event.event_id, digest, event.type)
    return True
