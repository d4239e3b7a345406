"""What ``POST /events/orders`` does: claim the event's record, publish, mark it published
(``domain`` explains why in that order). The store is injected (``EventStore``; the real
repository by default), so the unit tests run on a fake."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaign_shared import clock, messaging
from campaign_shared.errors import Conflict
from campaign_shared.events import OrderEvent
from chalicelib.events import domain
from chalicelib.events.store.ports import EventStore
from chalicelib.events.store.records import EventRecord

TOPIC = "order-events"


def _publish(topic: str, message: dict[str, Any]) -> None:
    messaging.publish(topic, message)


@dataclass(frozen=True)
class Stores:
    events: EventStore
    publish: Callable[[str, dict[str, Any]], None] = _publish


@functools.cache
def real_stores() -> Stores:
    from chalicelib.events.store.events import EventRepository

    return Stores(EventRepository())


def accept(shop: str, event: OrderEvent, stores: Stores | None = None) -> bool:
    """Publish ``event`` for ``shop``; False when it had already been published."""
    stores = stores or real_stores()
    message = event.model_copy(update={"shop": shop}).model_dump(mode="json", exclude_none=True)
    digest = domain.fingerprint(message)
    existing = stores.events.claim(
        EventRecord(
            shop=shop,
            event_id=event.event_id,
            digest=digest,
            type=event.type,
            status=domain.PENDING,
            accepted_at=clock.iso(clock.now()),
        )
    )
    if existing is not None:
        decision = domain.decide(digest, existing.digest, existing.status)
        if decision == "reused":
            raise Conflict(f"event {event.event_id} was accepted with another body", code="event_id_reused")
        if decision == "already_published":
            return False
    stores.publish(TOPIC, message)
    stores.events.mark_published(shop, event.event_id)
    return True
