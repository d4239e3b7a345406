"""The record of an accepted event. Records written before 2026-12 have no ``status``: they
were written after the publish, so they read as ``published``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.events.store import keys

PUBLISHED = "published"


@dataclass(frozen=True)
class EventRecord:
    shop: str
    event_id: str
    digest: str | None
    type: str
    status: str  # "pending" until published
    accepted_at: str

    def to_item(self, expires_at_epoch: int) -> dict[str, Any]:
        return {
            "pk": keys.event_pk(self.shop, self.event_id),
            "sk": keys.EVENT_SK,
            "digest": self.digest,
            "type": self.type,
            "status": self.status,
            "accepted_at": self.accepted_at,
            "expires_at_epoch": expires_at_epoch,
        }

    @classmethod
    def from_item(cls, shop: str, event_id: str, data: dict[str, Any]) -> EventRecord:
        return cls(
            shop=shop,
            event_id=event_id,
            digest=data.get("digest"),
            type=data.get("type", ""),
            status=data.get("status", PUBLISHED),
            accepted_at=data.get("accepted_at", ""),
        )
