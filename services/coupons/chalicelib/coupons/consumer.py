"""Handlers of the coupons queues' messages, by ``type``: order events (from the
order-events topic), grants and revokes (from the referral service) on the main queue,
bulk-issue chunks, code-batch chunks and invalidation pages (our own) and segment members
(from the audience service) on the bulk queue.

Each is idempotent on a business key (coupon + order, grant id, job + chunk). A malformed
message raises ``PoisonMessage`` (retried, then the DLQ takes it); a transient storage
failure raises (the message is retried); an unknown or foreign resource is logged and
dropped.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from campaign_shared import events
from campaign_shared.segments import SegmentExportFailed, SegmentMembers
from chalicelib.coupons.models import CodeChunk, InvalidationPage, IssueChunk
from chalicelib.coupons.usecases import bulk, claims, codes, invalidations, orders, revokes

M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise events.PoisonMessage(f"malformed {body.get('type')}: {exc.error_count()} errors") from None


def on_order_event(body: dict[str, Any]) -> None:
    orders.on_order_event(events.parse_order_event(body))


def on_grant(body: dict[str, Any]) -> None:
    from campaign_shared import messaging
    from campaign_shared.grants import CouponGrant

    grant = _parse(CouponGrant, body)
    result = claims.grant(grant)
    if grant.reply_to:
        messaging.send(grant.reply_to, result.model_dump(mode="json"))


def on_revoke(body: dict[str, Any]) -> None:
    """Revoke, then answer the sender."""
    from campaign_shared import messaging
    from campaign_shared.grants import CouponRevoke

    try:
        message = CouponRevoke.model_validate(body)
    except ValidationError as exc:
        raise events.PoisonMessage(f"malformed coupon.revoke: {exc.error_count()} errors") from None
    result = revokes.revoke(message)
    if message.reply_to:
        messaging.send(message.reply_to, result.model_dump(mode="json"))


def on_issue_chunk(body: dict[str, Any]) -> None:
    bulk.issue_chunk(_parse(IssueChunk, body))


def on_segment_members(body: dict[str, Any]) -> None:
    bulk.segment_members(_parse(SegmentMembers, body))


def on_segment_export_failed(body: dict[str, Any]) -> None:
    bulk.segment_failed(_parse(SegmentExportFailed, body))


def on_code_chunk(body: dict[str, Any]) -> None:
    codes.run_chunk(_parse(CodeChunk, body))


def on_invalidation_page(body: dict[str, Any]) -> None:
    invalidations.run_page(_parse(InvalidationPage, body))


def note_last_attempts(event: dict[str, Any]) -> None:
    """Record every issue chunk (of a list or of a segment's members) and code-batch chunk of a
    bulk-queue batch that is on its last
    receive (the queue's ``max_receive_count``) as dead-lettered on its job or batch, before it
    is tried (``bulk``, ``codes``). A malformed record or a failed write is logged and left
    to the attempt itself."""
    from campaign_shared import observability
    from campaign_shared.resources import service as service_spec
    from campaign_shared.resources.coupons import BULK_QUEUE

    last = service_spec("coupons").queue(BULK_QUEUE).max_receive_count
    for record in event.get("Records") or []:
        try:
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
            if receives < last:
                continue
            body = events.message_body(record)
            if body.get("type") == "coupon.issue_chunk":
                bulk.mark_dead_lettered(IssueChunk.model_validate(body))
            elif body.get("type") == "coupon.code_batch":
                codes.mark_dead_lettered(CodeChunk.model_validate(body))
            elif body.get("type") == "segment.members":
                bulk.mark_members_dead_lettered(SegmentMembers.model_validate(body))
        except Exception:
            observability.logger("coupons").exception(
                "could not record a chunk's last attempt", extra={"message_id": record.get("messageId")}
            )
