"""Orchestration of the domain and the store for every /coupons route and message."""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, dynamo, ids
from campaign_shared.errors import Conflict, InvalidRequest, NotFound
from campaign_shared.resources.coupons import BULK_QUEUE
from chalicelib.coupons import domain, issuing, store, store_jobs, store_stock
from chalicelib.coupons.models import (
    CouponOut,
    CouponPage,
    IssueChunk,
    IssueJobAccepted,
    IssueJobIn,
    IssueJobOut,
    LuckyAmountsPage,
    LuckySlot,
    TemplateIn,
    TemplateOut,
    ValidateIn,
    ValidateOut,
)

MAX_CHUNK = 500  # customers per chunk message: 100,000 make 200 messages
MAX_MESSAGE_BYTES = 24_000  # ten chunk messages fit one SendMessageBatch (256 KB)


# ---- templates ---------------------------------------------------------------------------


def create_template(shop: str, body: TemplateIn) -> TemplateOut:
    from campaign_shared.settings import get_settings

    now = clock.now()
    domain.check_new_template(
        clock.parse(body.valid_from) if body.valid_from else None,
        clock.parse(body.valid_until) if body.valid_until else None,
        now,
    )
    caps = domain.shard_caps(body.total_stock, get_settings().stock_shards)
    lucky = domain.split_lucky(body.lucky_total_amount or 0, body.total_stock) if body.kind == "lucky" else []
    template = {
        **body.model_dump(),
        "template_id": ids.new_id("tpl-"),
        "created_at": clock.iso(now),
        "shard_count": len(caps),
    }
    store_stock.create_template(shop, template, caps, domain.lucky_chunks(lucky))
    fresh = [{"cap": cap, "taken": 0, "redeemed": 0} for cap in caps]
    return _template_out(template, fresh, now)


def get_template(shop: str, template_id: str) -> TemplateOut:
    template = issuing.template_or_404(shop, template_id)
    shards = store_stock.get_shards(shop, template_id, int(template["shard_count"]))
    return _template_out(template, shards, clock.now())


def _template_out(template: dict[str, Any], shards: list[dict[str, Any]], now: Any) -> TemplateOut:
    issued = sum(int(s.get("taken", 0)) for s in shards)
    return TemplateOut.model_validate(
        {
            **template,
            "state": domain.window_state(template, now),
            "issued_count": issued,
            "redeemed_count": sum(int(s.get("redeemed", 0)) for s in shards),
            "remaining_stock": int(template["total_stock"]) - issued,
        }
    )


def lucky_amounts(shop: str, template_id: str, page: dynamo.PageParams) -> LuckyAmountsPage:
    """The drawn amounts, ``page.limit`` slots from the cursor (an opaque, sealed slot number)."""
    template = issuing.template_or_404(shop, template_id)
    if template["kind"] != "lucky":
        raise NotFound("this template has no lucky amounts")
    total = int(template["total_stock"])
    start = 0
    if page.cursor:
        slot = (dynamo.decode_cursor(page.cursor) or {}).get("slot")
        if type(slot) is not int or not 0 <= slot < total:
            raise InvalidRequest("invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid"}])
        start = slot
    slots = list(range(start, min(total, start + page.limit)))
    amounts = store_stock.lucky_amounts(shop, template_id, [domain.lucky_position(s)[0] for s in slots])
    items = [
        LuckySlot(slot=s, amount=amounts[s // domain.LUCKY_CHUNK][s % domain.LUCKY_CHUNK]) for s in slots
    ]
    following = start + len(slots)
    return LuckyAmountsPage(
        total_amount=int(template["lucky_total_amount"]),
        items=items,
        next_cursor=dynamo.encode_cursor({"slot": following}) if following < total else None,
    )


# ---- coupons -------------------------------------------------------------------------------


def coupon_out(coupon: dict[str, Any], now: Any = None) -> CouponOut:
    return CouponOut.model_validate({**coupon, "status": domain.visible_status(coupon, now or clock.now())})


def claim(shop: str, template_id: str, customer_id: str) -> CouponOut:
    return coupon_out(issuing.claim(shop, template_id, customer_id))


def my_coupons(shop: str, customer_id: str, page: dynamo.PageParams) -> CouponPage:
    items, cursor = store.list_coupons(shop, customer_id, page)
    now = clock.now()
    return CouponPage(items=[coupon_out(i, now) for i in items], next_cursor=cursor)


def customer_coupons(shop: str, customer_id: str, page: dynamo.PageParams) -> CouponPage:
    """A customer's coupons as the merchant sees them (with their conflicts)."""
    return my_coupons(shop, customer_id, page)


def customer_coupon(shop: str, customer_id: str, coupon_id: str) -> CouponOut:
    return coupon_out(_coupon_or_404(shop, customer_id, coupon_id))


def _coupon_or_404(shop: str, customer_id: str, coupon_id: str) -> dict[str, Any]:
    coupon = store.get_coupon(shop, customer_id, coupon_id)
    if coupon is None:
        raise NotFound("no such coupon")
    return coupon


def validate(shop: str, customer_id: str, body: ValidateIn) -> ValidateOut:
    coupon = _coupon_or_404(shop, customer_id, body.coupon_id)
    template = store_stock.get_template(shop, coupon["template_id"]) or {}
    lines = [domain.Line(line.product_id, line.quantity, line.unit_amount) for line in body.lines]
    result = domain.evaluate(coupon, template.get("product_ids"), lines, clock.now(), body.order_id)
    return ValidateOut(
        coupon_id=body.coupon_id,
        valid=result.valid,
        discount_amount=result.discount_amount,
        reason=result.reason,
        eligible_subtotal_amount=result.eligible_subtotal_amount,
    )


def lock(shop: str, customer_id: str, coupon_id: str, order_id: str) -> CouponOut:
    """Bind the coupon to one order; the same order again is a no-op, another is 409."""
    now = clock.now()
    ok, coupon = store.lock_coupon(shop, customer_id, coupon_id, order_id, clock.iso(now))
    if ok:
        return coupon_out(coupon, now)
    if not coupon:
        raise NotFound("no such coupon")
    if coupon.get("order_id") == order_id and coupon["status"] in ("locked", "redeemed"):
        return coupon_out(coupon, now)
    status = domain.visible_status(coupon, now)
    why = {
        "locked": "the coupon is locked to another order",
        "redeemed": "the coupon has been used",
        "expired": "the coupon has expired",
    }.get(status, "the coupon cannot be used")
    raise Conflict(why, code="not_available")


# ---- bulk issue --------------------------------------------------------------------------------


def create_issue_job(shop: str, template_id: str, body: IssueJobIn) -> IssueJobAccepted:
    from campaign_shared import messaging

    template = issuing.template_or_404(shop, template_id)
    now = clock.now()
    domain.require_active(template, now)
    size = max(1, min(MAX_CHUNK, MAX_MESSAGE_BYTES // (max(len(c) for c in body.customer_ids) + 3)))
    chunks, duplicates = domain.chunk_customers(body.customer_ids, size)
    job_id = ids.new_id("job-")
    job: dict[str, Any] = {
        "job_id": job_id,
        "template_id": template_id,
        "total": len(body.customer_ids),
        "chunk_total": len(chunks),
        "issued": 0,
        "skipped": len(duplicates),
        "failed": 0,
        "created_at": clock.iso(now),
        "expires_at_epoch": store_jobs.expiry(),
    }
    if duplicates:
        job[f"skipped:{domain.SKIPPED_DUPLICATE}"] = len(duplicates)
        job[f"sample:{domain.SKIPPED_DUPLICATE}"] = duplicates[: domain.SAMPLE_SIZE]
    store_jobs.create_job(shop, job)
    messages, first = [], 0
    for number, customers in enumerate(chunks):
        chunk = IssueChunk(
            shop=shop,
            job_id=job_id,
            template_id=template_id,
            chunk=number,
            first_index=first,
            customer_ids=customers,
        )
        messages.append(chunk.model_dump(mode="json"))
        first += len(customers)
    messaging.send_batch("coupons", messages, queue=BULK_QUEUE)
    return IssueJobAccepted(job_id=job_id, status="queued", total=job["total"])


def get_issue_job(shop: str, job_id: str) -> IssueJobOut:
    job = store_jobs.get_job(shop, job_id)
    if job is None:
        raise NotFound("no such issue job")
    return IssueJobOut.model_validate(domain.job_view(job))
