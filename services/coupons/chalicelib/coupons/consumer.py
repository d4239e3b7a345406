"""Handlers of the coupons queue's messages, by ``type``: order events (from the
order-events topic), grants (from the referral service) and bulk-issue chunks (our own).

Each is idempotent on a business key (coupon + order, grant id, job + chunk). A malformed
message raises ``PoisonMessage`` (retried, then the DLQ takes it); a transient storage
failure raises (the message is retried); an unknown or foreign resource is logged and
dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from campaign_shared import events
from chalicelib.coupons import issuing, service
from chalicelib.coupons.models import IssueChunk


def _parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise events.PoisonMessage(f"malformed {body.get('type')}: {exc.error_count()} errors") from None


def on_order_event(body: dict[str, Any]) -> None:
    service.on_order_event(events.parse_order_event(body))


def on_grant(body: dict[str, Any]) -> None:
    from campaign_shared import messaging
    from campaign_shared.grants import CouponGrant

    grant = _parse(CouponGrant, body)
    result = issuing.grant(grant)
    if grant.reply_to:
        messaging.send(grant.reply_to, result.model_dump(mode="json"))


def on_issue_chunk(body: dict[str, Any]) -> None:
    issuing.issue_chunk(_parse(IssueChunk, body))
