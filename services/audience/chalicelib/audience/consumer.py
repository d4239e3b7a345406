"""Handlers of the audience queue: order events and coupon redemptions update profiles and
the repurchase counters (``usecases.profiles``).

A handler parses its message (a malformed one is a ``PoisonMessage``: dead-lettered, not
retried) and calls its use case. Every use case is idempotent on a business key (the order,
the refund id), and a transient storage failure raises, so the message is retried.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaign_shared import clock, events
from campaign_shared.coupon_events import CouponRedeemed
from campaign_shared.events import PoisonMessage
from campaign_shared.grants import CouponGrantResult
from campaign_shared.segments import SegmentExport
from campaign_shared.types import Id
from chalicelib.audience.domain import profiles
from chalicelib.audience.usecases import automations
from chalicelib.audience.usecases import profiles as profile_cases
from chalicelib.audience.usecases.common import Stores

M = TypeVar("M", bound=BaseModel)


def handle(body: dict[str, Any], using: Stores | None = None) -> None:
    """Route one message by its type (the tests' entry; the app routes by ``HANDLERS``)."""
    handlers = {
        "order.paid": on_order_paid,
        "order.cancelled": on_order_cancelled,
        "order.refunded": on_order_refunded,
        "coupon.redeemed": on_coupon_redeemed,
    }
    handlers[body["type"]](body, using)


def _parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise PoisonMessage(f"malformed {body.get('type')}: {exc.error_count()} errors") from None


def _order(body: dict[str, Any]) -> tuple[events.OrderEvent, str]:
    event = events.parse_order_event(body)
    if not event.shop:
        raise PoisonMessage("order event without shop")
    return event, event.shop


def on_order_paid(body: dict[str, Any], using: Stores | None = None) -> None:
    event, shop = _order(body)
    paid_at = clock.epoch(clock.parse(event.occurred_at))

    def change(order: profiles.OrderState) -> profiles.OrderState | None:
        return profiles.apply_paid(
            order,
            paid_at=paid_at,
            amount=event.total_paid,
            referral_code=event.referral_code,
            distributor_code=event.distributor_code,
        )

    profile_cases.apply(shop, event.customer_id, event.order_id, change, using)
    automations.on_orders_changed(shop, event.customer_id, using)


def on_order_cancelled(body: dict[str, Any], using: Stores | None = None) -> None:
    event, shop = _order(body)
    profile_cases.apply(shop, event.customer_id, event.order_id, profiles.apply_cancelled, using)
    automations.on_orders_changed(shop, event.customer_id, using)


def on_order_refunded(body: dict[str, Any], using: Stores | None = None) -> None:
    event, shop = _order(body)
    refund = event.refund
    assert refund is not None  # the event model requires it
    amount = sum(line.amount for line in refund.lines)

    def change(order: profiles.OrderState) -> profiles.OrderState | None:
        return profiles.apply_refund(order, refund.refund_id, amount)

    profile_cases.apply(shop, event.customer_id, event.order_id, change, using)
    automations.on_orders_changed(shop, event.customer_id, using)


def on_coupon_redeemed(body: dict[str, Any], using: Stores | None = None) -> None:
    message = _parse(CouponRedeemed, body)

    def change(order: profiles.OrderState) -> profiles.OrderState | None:
        return profiles.apply_redeemed(
            order,
            template_id=message.template_id,
            share_link_id=message.share_link_id,
            grant_id=message.grant_id,
            discount=message.discount_amount,
        )

    profile_cases.apply(message.shop, message.customer_id, message.order_id, change, using)
    automations.on_orders_changed(message.shop, message.customer_id, using)


class TagChunk(BaseModel):
    """One chunk of a bulk-tag job, on the service's own queue (``usecases.tags``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audience.tag_chunk"]
    shop: Id
    job_id: Id
    n: int = Field(ge=0)
    tag: str = Field(min_length=1, max_length=64)
    customer_ids: list[Id] = Field(max_length=500)


def on_tag_chunk(body: dict[str, Any]) -> None:
    from chalicelib.audience.usecases import tags

    chunk = _parse(TagChunk, body)
    tags.run_chunk(chunk.shop, chunk.job_id, chunk.n, chunk.tag, chunk.customer_ids)


class SegmentPage(BaseModel):
    """One page of one profile shard of a segment evaluation run (``usecases.segments``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audience.segment_page"]
    shop: Id
    segment_id: Id
    run: Id
    as_of: int
    shard: int = Field(ge=0)
    page: int = Field(ge=0)
    start: dict[str, str] | None = None


class ExportPage(BaseModel):
    """The next chunks of a pinned segment export (``usecases.segments``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audience.export_page"]
    shop: Id
    job_id: Id
    segment_id: Id
    run: Id
    total: int = Field(ge=0)
    seq: int = Field(ge=0)
    start: str | None = None


class ExportWait(BaseModel):
    """A segment export waiting for the segment's first evaluation."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audience.export_wait"]
    request: SegmentExport
    waited: int = Field(ge=0)


def on_segment_page(body: dict[str, Any]) -> None:
    from chalicelib.audience.usecases import segments

    segments.run_page(_parse(SegmentPage, body).model_dump())


def on_segment_export(body: dict[str, Any]) -> None:
    from chalicelib.audience.usecases import segments

    segments.export(_parse(SegmentExport, body))


def on_export_wait(body: dict[str, Any]) -> None:
    from chalicelib.audience.usecases import segments

    wait = _parse(ExportWait, body)
    segments.export(wait.request, wait.waited)


def on_export_page(body: dict[str, Any]) -> None:
    from chalicelib.audience.usecases import segments

    segments.export_page(_parse(ExportPage, body).model_dump())


class RulePage(BaseModel):
    """One page of one profile shard of an automation rule's run (``usecases.automations``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audience.rule_page"]
    shop: Id
    rule_id: Id
    shard: int = Field(ge=0)
    start: dict[str, str] | None = None
    as_of: int


def on_rule_page(body: dict[str, Any]) -> None:
    automations.run_page(_parse(RulePage, body).model_dump())


def on_grant_result(body: dict[str, Any]) -> None:
    automations.on_grant_result(_parse(CouponGrantResult, body))
