"""The events table: one record per accepted ``event_id`` per shop (``pending`` until published)."""

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


def _part(value: str) -> str:
    return value.replace("%", "%25").replace("#", "%23")


def _key(shop: str, event_id: str) -> dict[str, Any]:
    return {"pk": f"event#{_part(shop)}#{_part(event_id)}", "sk": "event"}


def fingerprint(event: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim(shop: str, event_id: str, digest: str, event_type: str) -> dict[str, Any] | None:
    """Create the event's record unless one exists; ``None`` when this call created it (or an
    earlier attempt of this same call did: same digest, still pending), else the record found."""
    now = clock.now()
    item = {
        **_key(shop, event_id),
        "digest": digest,
        "type": event_type,
        "status": "pending",
        "accepted_at": clock.iso(now),
        "expires_at_epoch": clock.epoch(now) + RETENTION_DAYS * 86400,
    }
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item=dynamo.to_item(item),
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return None
    except Exception as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        return dynamo.from_item(getattr(exc, "response", {}).get("Item")) or {"digest": None}


def mark_published(shop: str, event_id: str) -> None:
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=dynamo.to_item(_key(shop, event_id)),
        UpdateExpression="SET #st = :published, published_at = :now",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues=dynamo.values(published="published", now=clock.iso(clock.now())),
    )
