"""The events table: one record per accepted ``event_id`` per shop."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from campaign_shared import aws, clock, dynamo
from campaign_shared.resources import service, table_name
from campaign_shared.settings import get_settings

RETENTION_DAYS = 30


def _table() -> str:
    return table_name(get_settings().stage, "events", service("events").table("main").logical)


def _key(shop: str, event_id: str) -> dict[str, Any]:
    return dynamo.to_item({"pk": f"event#{shop}#{event_id}", "sk": "event"})


def fingerprint(event: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def find(shop: str, event_id: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(TableName=_table(), Key=_key(shop, event_id), ConsistentRead=True)
    return dynamo.from_item(response.get("Item"))


def record_published(shop: str, event_id: str, digest: str, event_type: str) -> None:
    now = clock.now()
    item = {
        "pk": f"event#{shop}#{event_id}",
        "sk": "event",
        "digest": digest,
        "type": event_type,
        "published_at": clock.iso(now),
        "expires_at_epoch": clock.epoch(now) + RETENTION_DAYS * 86400,
    }
    aws.dynamodb().put_item(TableName=_table(), Item=dynamo.to_item(item))
