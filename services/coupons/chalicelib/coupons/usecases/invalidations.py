"""Invalidations (作废): void every unused coupon of a template, as a job.

The job reads the table in ``SEGMENTS`` parallel segments, a page per message on the bulk
queue (``store.invalidations`` explains the scan). On each page: a coupon that is unused
(``available``, or held by a lock or a gift that lapsed) is voided in one conditional write
stamped with the job; a coupon locked to a running order is marked to be voided when the
lock is released (unlock, ``order.cancelled``, or the lock lapsing); redeemed, revoked,
expired and given coupons are left alone. A page's counts are added to the job once; a page
read again counts the coupons stamped with the job, so the counts stay exact. When the last
segment ends, the template records the outcome once (``invalidated_count``, and with
``return_stock`` the voided units go back into the stock the way ``add_stock`` puts units
there), guarded by the job's id so a redelivery cannot do it twice.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, ids
from campaign_shared.errors import InvalidRequest, NotFound
from chalicelib.coupons import domain
from chalicelib.coupons.models import InvalidationIn, InvalidationOut, InvalidationPage
from chalicelib.coupons.store.records import Invalidation
from chalicelib.coupons.usecases import Stores, stores_or_default
from chalicelib.coupons.usecases.templates import template_or_404

SEGMENTS = 4


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def _send(pages: list[InvalidationPage]) -> None:
    from campaign_shared import messaging
    from campaign_shared.resources.coupons import BULK_QUEUE

    messaging.send_batch(
        "coupons", [p.model_dump(mode="json", exclude_none=True) for p in pages], queue=BULK_QUEUE
    )


def start(
    shop: str, template_id: str, body: InvalidationIn, actor: str, stores: Stores | None = None
) -> InvalidationOut:
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    if body.return_stock and template.kind == "lucky":
        raise InvalidRequest(
            "a lucky template's pack was drawn at creation; its stock cannot take units back",
            details=[{"loc": ["body", "return_stock"], "msg": "not on a lucky template"}],
        )
    job = Invalidation(
        invalidation_id=ids.new_id("inv-"),
        template_id=template_id,
        return_stock=body.return_stock,
        segments=SEGMENTS,
        created_at=clock.iso(clock.now()),
        created_by=actor,
    )
    s.invalidations.create(shop, job)
    _send(
        [
            InvalidationPage(shop=shop, invalidation_id=job.invalidation_id, segment=n, page=0)
            for n in range(SEGMENTS)
        ]
    )
    return view(job)


def view(job: Invalidation) -> InvalidationOut:
    done = len(job.done_segments) >= job.segments
    return InvalidationOut.model_validate({**job.to_item(), "status": "done" if done else "running"})


def get(shop: str, invalidation_id: str, stores: Stores | None = None) -> InvalidationOut:
    job = stores_or_default(stores).invalidations.get(shop, invalidation_id)
    if job is None:
        raise NotFound("no such invalidation")
    return view(job)


def run_page(message: InvalidationPage, stores: Stores | None = None) -> None:
    """One page of one segment (see the module); then the next page, or the segment's end."""
    s = stores_or_default(stores)
    shop, job_id = message.shop, message.invalidation_id
    job = s.invalidations.get(shop, job_id)
    if job is None:
        _log().warning("page of an unknown invalidation dropped", extra={"invalidation_id": job_id})
        return
    if str(message.segment) in job.done_segments:
        return
    coupons, following = s.invalidations.scan_page(
        shop, job.template_id, message.segment, job.segments, message.start
    )
    now = clock.now()
    voided = on_release = 0
    for coupon in coupons:
        if coupon.invalidated_by == job_id:
            voided += 1
        elif coupon.void_on_release == job_id:
            on_release += 1
        elif domain.visible_status(coupon, now) == "available":
            voided += s.invalidations.void(shop, coupon, job_id, clock.iso(now))
        elif coupon.status == "locked" and domain.visible_status(coupon, now) == "locked":
            on_release += s.invalidations.void_on_release(shop, coupon, job_id)
    s.invalidations.complete_page(shop, job_id, f"{message.segment}:{message.page}", voided, on_release)
    if following is not None:
        _send([message.model_copy(update={"page": message.page + 1, "start": following})])
        return
    finished = s.invalidations.complete_segment(shop, job_id, message.segment)
    if len(finished.done_segments) >= finished.segments:
        _conclude(s, shop, finished)


def _conclude(s: Stores, shop: str, job: Invalidation) -> None:
    from chalicelib.coupons.usecases import campaign

    units = job.voided if job.return_stock else 0
    campaign.record_invalidation(
        shop, job.template_id, job.invalidation_id, job.voided, units, job.created_by, s
    )
    if units:
        s.invalidations.note_stock_returned(shop, job.invalidation_id, units)
