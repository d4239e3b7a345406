"""Accepting an order event, the rules (pure): publish once per ``event_id``; a duplicate is
harmless.

The event's record is created first, by a conditional write, with the fingerprint of its
body: of any number of concurrent posts of one ``event_id`` exactly one creates it. A post
whose body differs from the recorded one is 409 ``event_id_reused``; the same body is 202.
The event is then published and its record marked ``published``. A crash (or a failed
publish) between the two leaves the record ``pending``: the storefront's retry of the same
event publishes it then. Consumers are idempotent, so publishing twice is harmless;
publishing never is what the order prevents.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

PENDING = "pending"
PUBLISHED = "published"

Decision = Literal["publish", "already_published", "reused"]


def fingerprint(message: dict[str, Any]) -> str:
    """The digest of an event's body (its JSON with sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(message, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def decide(digest: str, existing_digest: str | None, existing_status: str) -> Decision:
    """What to do with an event whose record already exists: refuse another body, do nothing
    when it was published, publish when it is still pending (an earlier attempt crashed or
    failed to publish)."""
    if existing_digest != digest:
        return "reused"
    return "already_published" if existing_status == PUBLISHED else "publish"
