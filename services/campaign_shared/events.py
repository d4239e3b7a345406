"""The order-event model of API.md, shared by the producer and every consumer, and the
SQS consumer plumbing (Powertools batch processing with partial batch failures).

Messages on a service queue are JSON objects discriminated by ``type``: order events
arrive from the order-events topic by raw delivery; services may add their own types
(a coupon grant from the referral service, a bulk-issue chunk).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from campaign_shared.types import Amount, Currency, Id, Quantity, Timestamp

__all__ = ["Id", "OrderEvent", "OrderLine", "PoisonMessage", "consume", "message_body", "parse_order_event"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=False)


class WishlistItemRef(_Model):
    list_id: Id
    item_id: Id
    reservation_id: Id | None = None


class OrderLine(_Model):
    line_id: Id
    product_id: Id
    quantity: Quantity
    unit_amount: Amount
    paid_amount: Amount
    wishlist_item: WishlistItemRef | None = None

    @model_validator(mode="after")
    def _paid_within_price(self) -> OrderLine:
        if self.paid_amount > self.quantity * self.unit_amount:
            raise ValueError("paid_amount must not exceed quantity × unit_amount")
        return self


class RefundLine(_Model):
    line_id: Id
    amount: Amount


class Refund(_Model):
    refund_id: Id
    lines: list[RefundLine] = Field(min_length=1, max_length=500)


class OrderEvent(_Model):
    """An order event as the storefront posts it. ``shop`` is set by the producer from the
    storefront's token; consumers trust it because only the producer writes the topic."""

    event_id: Id
    type: Literal["order.paid", "order.cancelled", "order.refunded"]
    order_id: Id
    customer_id: Id
    occurred_at: Timestamp
    currency: Currency = "CNY"
    lines: list[OrderLine] = Field(default_factory=list, max_length=500)
    coupon_id: Id | None = None
    distributor_code: Id | None = None
    referral_code: Id | None = None
    refund: Refund | None = None
    shop: Id | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OrderEvent:
        if self.type == "order.refunded":
            if self.refund is None:
                raise ValueError("order.refunded requires refund")
            known = {line.line_id for line in self.lines}
            if known:
                unknown = [r.line_id for r in self.refund.lines if r.line_id not in known]
                if unknown:
                    raise ValueError(f"refund names unknown lines: {unknown}")
                paid = {line.line_id: line.paid_amount for line in self.lines}
                for r in self.refund.lines:
                    if r.amount > paid[r.line_id]:
                        raise ValueError(f"refund of line {r.line_id} exceeds its paid_amount")
        elif self.refund is not None:
            raise ValueError(f"{self.type} must not carry a refund")
        if self.type == "order.paid" and not self.lines:
            raise ValueError("order.paid requires at least one line")
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("line_id values must be unique")
        return self

    @property
    def total_paid(self) -> int:
        return sum(line.paid_amount for line in self.lines)


class OrderEventAccepted(_Model):
    event_id: str


# ---- consuming ----------------------------------------------------------------------

RecordHandler = Callable[[dict[str, Any]], None]


class PoisonMessage(Exception):
    """A message that can never be processed (malformed); it fails until the DLQ takes it."""


def message_body(record: Any) -> dict[str, Any]:
    """The JSON object of an SQS record (raw SNS delivery, or an SNS envelope if not raw)."""
    raw = record["body"] if isinstance(record, dict) else record.body
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        raise PoisonMessage("message body is not JSON") from None
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        try:
            body = json.loads(body["Message"])
        except (TypeError, ValueError):
            raise PoisonMessage("SNS message is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise PoisonMessage("message has no type")
    return body


def lazy_handler(module: str, name: str) -> RecordHandler:
    """A handler that imports ``module`` on the first message and calls its ``name`` (an app's
    routes never pay for importing its consumer)."""

    def handle(body: dict[str, Any]) -> None:
        import importlib

        getattr(importlib.import_module(module), name)(body)

    handle.__name__ = name
    return handle


def consume(event: dict[str, Any], context: Any, handlers: dict[str, RecordHandler], service: str) -> dict:
    """Process an SQS batch; report only the failed records (``batchItemFailures``).

    ``handlers`` maps a message ``type`` to a function of the parsed body. A type with no
    handler is acknowledged and counted (another service's concern). Handlers must be
    idempotent on a business key: SQS delivers at least once, in any order.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from campaign_shared import observability

    log = observability.logger(service)

    def handle(record: Any) -> None:
        body = message_body(record.raw_event)
        kind = body["type"]
        correlation = body.get("event_id") or body.get("grant_id") or record.message_id
        log.set_correlation_id(str(correlation))
        handler = handlers.get(kind)
        if handler is None:
            log.debug("message type not handled here", extra={"type": kind})
            return
        handler(body)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    result = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    failures = result.get("batchItemFailures", [])
    if failures:
        log.warning(
            "batch had failures", extra={"failed": len(failures), "size": len(event.get("Records", []))}
        )
    observability.count(service, "MessagesFailed", len(failures))
    observability.count(service, "MessagesProcessed", len(event.get("Records", [])) - len(failures))
    return dict(result)


def parse_order_event(body: dict[str, Any]) -> OrderEvent:
    from pydantic import ValidationError

    try:
        return OrderEvent.model_validate(body)
    except ValidationError as exc:
        raise PoisonMessage(f"malformed order event: {exc.error_count()} errors") from None
