"""An in-memory stand-in for the events table (``store.ports.EventStore``): a claim creates
the record unless one exists (then it returns it), like the conditional put. ``crash_after``
kills the process (``Crash``) right after that many more writes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.events.store.records import EventRecord
from chalicelib.events.usecases import Stores


class Crash(Exception):
    """The process died right after a write."""


@dataclass
class FakeEvents:
    records: dict[tuple[str, str], EventRecord] = field(default_factory=dict)
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    crash_after: int | None = None
    publish_failure: Exception | None = None

    def _wrote(self) -> None:
        if self.crash_after is not None:
            self.crash_after -= 1
            if self.crash_after <= 0:
                self.crash_after = None
                raise Crash("crashed after a write")

    def claim(self, record: EventRecord) -> EventRecord | None:
        key = (record.shop, record.event_id)
        if key in self.records:
            return self.records[key]
        self.records[key] = record
        self._wrote()
        return None

    def mark_published(self, shop: str, event_id: str) -> None:
        self.records[(shop, event_id)] = replace(self.records[(shop, event_id)], status="published")
        self._wrote()

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self.publish_failure is not None:
            failure, self.publish_failure = self.publish_failure, None
            raise failure
        self.published.append((topic, message))

    def stores(self) -> Stores:
        return Stores(events=self, publish=self.publish)
