"""The events table as a port (the real repository is ``store.events``)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.events.store.records import EventRecord


class EventStore(Protocol):
    def claim(self, record: EventRecord) -> EventRecord | None:
        """Create the event's record unless one exists; ``None`` when this call created it,
        else the record found."""
        ...

    def mark_published(self, shop: str, event_id: str) -> None: ...
