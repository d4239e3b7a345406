"""Every key of the events table (``main``): one record per accepted ``event_id`` per shop,
``pk`` = ``event#<shop>#<event_id>`` (ids escaped), ``sk`` = ``event``."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import keys

EVENT_SK = "event"


def event_pk(shop: str, event_id: str) -> str:
    return keys.join("event", shop, event_id)


def event_key(shop: str, event_id: str) -> dict[str, Any]:
    return keys.key(event_pk(shop, event_id), EVENT_SK)
