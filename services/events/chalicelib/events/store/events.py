"""The events repository: one record per accepted ``event_id`` per shop, kept 30 days."""

from __future__ import annotations

from campaign_shared import aws, clock
from campaign_shared.resources import service, table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import codec, writes
from chalicelib.events.store import keys
from chalicelib.events.store.records import PUBLISHED, EventRecord

RETENTION_DAYS = 30


def _table() -> str:
    return table_name(get_settings().stage, "events", service("events").table("main").logical)


class EventRepository:
    def claim(self, record: EventRecord) -> EventRecord | None:
        expires = clock.epoch(clock.now()) + RETENTION_DAYS * 86400
        written = writes.create(_table(), record.to_item(expires))
        if written.applied:
            return None
        return EventRecord.from_item(record.shop, record.event_id, written.item or {"digest": None})

    def mark_published(self, shop: str, event_id: str) -> None:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key=keys.event_key(shop, event_id),
            UpdateExpression="SET #st = :published, published_at = :now",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues=codec.values(published=PUBLISHED, now=clock.iso(clock.now())),
        )
