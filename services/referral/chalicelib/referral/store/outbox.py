"""Messages to other services' queues (the coupons service's grants and revokes)."""

from __future__ import annotations

from typing import Any

from campaign_shared import messaging


class QueueOutbox:
    def send(self, service: str, message: dict[str, Any]) -> None:
        messaging.send(service, message)

    def send_batch(self, service: str, messages: list[dict[str, Any]]) -> None:
        messaging.send_batch(service, messages)
