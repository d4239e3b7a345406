"""Request and response models of ``/events``: the order event itself and its answer are the
shared ``campaign_shared.events.OrderEvent`` / ``OrderEventAccepted`` (every consumer parses
the same model)."""

from __future__ import annotations

from campaign_shared.types import Out


class WhoAmI(Out):
    sub: str
    shop: str
    role: str
