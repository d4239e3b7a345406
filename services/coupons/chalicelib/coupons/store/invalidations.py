"""Invalidation jobs (``inval#<shop>#<invalidation>``) and the scan that finds a template's
coupons. Coupons live in their customers' partitions, so nothing indexes them by template:
a job reads the table in parallel segments, a page at a time (``Scan`` with a filter on
``template_id``), the cost of the whole table once per invalidation. Every coupon it voids is
stamped with the job, so a page read again counts the same coupons."""

from __future__ import annotations

from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.coupons import as_seen
from chalicelib.coupons.store.keys import COUPON_PREFIX, coupon_key, invalidation_key, table, wallet_pk
from chalicelib.coupons.store.records import Coupon, Invalidation
from chalicelib.coupons.store.table import expiry

PAGE = 500  # items read per Scan call (before the filter)
STATUS = {"#st": "status"}


class DynamoInvalidations:
    def create(self, shop: str, job: Invalidation) -> None:
        items.create(
            invalidation_key(shop, job.invalidation_id), {**job.to_item(), "expires_at_epoch": expiry()}
        )

    def get(self, shop: str, invalidation_id: str) -> Invalidation | None:
        item = items.get(invalidation_key(shop, invalidation_id))
        return Invalidation.from_item(item) if item else None

    def scan_page(
        self, shop: str, template_id: str, segment: int, segments: int, start: dict[str, Any] | None
    ) -> tuple[list[Coupon], dict[str, Any] | None]:
        """The template's coupons in one page of one segment, and where the next page starts."""
        params: dict[str, Any] = {
            "TableName": table(),
            "Segment": segment,
            "TotalSegments": segments,
            "Limit": PAGE,
            "FilterExpression": "template_id = :t AND begins_with(sk, :coupon) AND begins_with(pk, :shop)",
            "ExpressionAttributeValues": codec.values(
                t=template_id, coupon=COUPON_PREFIX, shop=wallet_pk(shop, "")
            ),
            "ConsistentRead": True,
        }
        if start:
            params["ExclusiveStartKey"] = codec.to_item(start)
        answer = aws.dynamodb().scan(**params)
        found = [Coupon.from_item(codec.from_item(i) or {}) for i in answer.get("Items", [])]
        following = answer.get("LastEvaluatedKey")
        return found, codec.from_item(following) if following else None

    def void(self, shop: str, coupon: Coupon, job_id: str, now_iso: str) -> bool:
        """available (or a lapsed lock or gift), still as seen -> invalidated by ``job_id``."""
        values = {"invalidated": "invalidated", "job": job_id, "now": now_iso}
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "SET #st = :invalidated, invalidated_by = :job, invalidated_at = :now "
            "REMOVE order_id, locked_at, lock_expires_at, gift_expires_at, gsi2pk, gsi3pk",
            as_seen(coupon, values),
            names=STATUS,
            values=values,
            mine=lambda old: old.get("invalidated_by") == job_id,
        ).applied

    def void_on_release(self, shop: str, coupon: Coupon, job_id: str) -> bool:
        """A coupon locked to a running order is voided when the lock is released."""
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "SET void_on_release = :job",
            "#st = :locked AND order_id = :order",
            names=STATUS,
            values={"job": job_id, "locked": "locked", "order": coupon.order_id or ""},
            mine=lambda old: old.get("void_on_release") == job_id,
        ).applied

    def complete_page(self, shop: str, invalidation_id: str, page: str, voided: int, on_release: int) -> bool:
        return items.update(
            invalidation_key(shop, invalidation_id),
            "ADD voided :v, voided_on_release :r, done_pages :page",
            "NOT contains(done_pages, :p)",
            values={"v": voided, "r": on_release, "page": {page}, "p": page},
        ).applied

    def complete_segment(self, shop: str, invalidation_id: str, segment: int) -> Invalidation:
        """Mark a segment done; the job as it is afterwards."""
        written = items.update(
            invalidation_key(shop, invalidation_id),
            "ADD done_segments :s",
            values={"s": {str(segment)}},
            returns="ALL_NEW",
        )
        return Invalidation.from_item(written.item or {})

    def note_stock_returned(self, shop: str, invalidation_id: str, units: int) -> None:
        items.update(invalidation_key(shop, invalidation_id), "SET stock_returned = :n", values={"n": units})
