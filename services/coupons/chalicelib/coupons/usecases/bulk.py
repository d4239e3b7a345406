"""Bulk issue jobs: one chunk of up to 500 customers per message, on the coupons service's
own bulk queue (so order events and grants never wait behind a job).

A chunk keeps the invariants of ``claims`` (never more than ``total_stock``, never more per
customer than the limit, nothing issued twice however often the message comes):

1. **How much stock is left**, from one consistent read of the stock shards (units this
   chunk already took on an earlier attempt count as its own).
2. **Count customers against their limit, in order, only until there is stock for the
   ones counted.** Everyone after that is ``skipped`` / ``sold_out`` without a single write:
   the chunk is about to take every unit left. A sold-out job therefore stops early: its
   remaining chunks cost two writes each (plan, job), not two per customer.
3. **Take the stock in blocks** (``claims.take_units``); a customer counted but left
   without a unit (a claim took it in between) gets the count back and is ``sold_out`` too.
4. **Fix the outcome in a plan record** before any coupon is written, write the coupons
   (ids derived from the job, so a retry writes the same ones), then add the outcome to the
   job once (``Jobs.complete_chunk``).

A chunk that keeps failing goes to the bulk DLQ. On its last receive the consumer first
records it on the job as dead-lettered (``mark_dead_lettered``: done, its customers counted
``failed`` / ``dead_lettered``), so the job reaches ``done`` whatever kills the last attempt.
If that attempt succeeds after all, or the message is redriven from the DLQ later
(``campaign dlq NAME --redrive --service coupons-bulk``) and succeeds, the chunk's real
outcome replaces the dead-lettered count in one conditional write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from campaign_shared import clock, ids, segments
from campaign_shared.errors import NotFound
from campaign_shared.resources.coupons import BULK_QUEUE
from campaign_shared.segments import SegmentExport, SegmentExportFailed, SegmentMembers
from chalicelib.coupons import domain
from chalicelib.coupons.models import IssueChunk, IssueJobAccepted, IssueJobIn, IssueJobOut
from chalicelib.coupons.store.records import Coupon, Job, Plan, Template
from chalicelib.coupons.store.table import expiry
from chalicelib.coupons.usecases import Stores, claims, stores_or_default
from chalicelib.coupons.usecases.templates import lucky_amounts_of, template_or_404

MAX_CHUNK = 500  # customers per chunk message: 100,000 make 200 messages
MAX_MESSAGE_BYTES = 24_000  # ten chunk messages fit one SendMessageBatch (256 KB)


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def chunk_coupon_id(job_id: str, index: int) -> str:
    """Derived from the job, so a retry writes the same coupon; time-sortable like claim ids."""
    return f"cp-{job_id.removeprefix('job-')}-{index}"


def _op(job_id: str, chunk: int) -> str:
    """The chunk's key on the stock shards (``take_block``)."""
    return f"job:{job_id}:{chunk}"


# ---- the job -----------------------------------------------------------------------------


def create_issue_job(
    shop: str, template_id: str, body: IssueJobIn, stores: Stores | None = None
) -> IssueJobAccepted:
    from campaign_shared import messaging

    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    now = clock.now()
    domain.require_active(template, now)
    if template.status != "active":
        raise domain.claim_refusal(template.status)
    if body.segment_id is not None:
        return _segment_job(s, shop, template_id, body.segment_id, now)
    customer_ids = body.customer_ids or []
    size = max(1, min(MAX_CHUNK, MAX_MESSAGE_BYTES // (max(len(c) for c in customer_ids) + 3)))
    chunks, duplicates = domain.chunk_customers(customer_ids, size)
    job = Job(
        job_id=ids.new_id("job-"),
        template_id=template_id,
        total=len(customer_ids),
        chunk_total=len(chunks),
        skipped=len(duplicates),
        created_at=clock.iso(now),
        expires_at_epoch=expiry(),
        skipped_by={domain.SKIPPED_DUPLICATE: len(duplicates)} if duplicates else {},
        samples={domain.SKIPPED_DUPLICATE: duplicates[: domain.SAMPLE_SIZE]} if duplicates else {},
    )
    s.jobs.create(shop, job)
    messages, first = [], 0
    for number, customers in enumerate(chunks):
        chunk = IssueChunk(
            shop=shop,
            job_id=job.job_id,
            template_id=template_id,
            chunk=number,
            first_index=first,
            customer_ids=customers,
        )
        messages.append(chunk.model_dump(mode="json"))
        first += len(customers)
    messaging.send_batch("coupons", messages, queue=BULK_QUEUE)
    return IssueJobAccepted(job_id=job.job_id, status="queued", total=job.total)


def _segment_job(s: Stores, shop: str, template_id: str, segment_id: str, now: datetime) -> IssueJobAccepted:
    """A job whose customers are an audience segment's members: ask the audience service to
    stream them (``campaign_shared.segments``); each chunk of members is issued like a chunk
    of a list (``segment_members``)."""
    from campaign_shared import messaging

    job = Job(
        job_id=ids.new_id("job-"),
        template_id=template_id,
        total=0,
        chunk_total=0,
        created_at=clock.iso(now),
        expires_at_epoch=expiry(),
        segment_id=segment_id,
        members_pending=True,
    )
    s.jobs.create(shop, job)
    export = SegmentExport(shop=shop, segment_id=segment_id, job_id=job.job_id, template_id=template_id)
    messaging.send("audience", export.model_dump(mode="json"))
    return IssueJobAccepted(job_id=job.job_id, status="queued", total=0)


def as_issue_chunk(message: SegmentMembers, template_id: str) -> IssueChunk | None:
    """A chunk of a segment's members as a chunk of the job (``None``: it has no one)."""
    if not message.customer_ids:
        return None
    return IssueChunk(
        shop=message.shop,
        job_id=message.job_id,
        template_id=template_id,
        chunk=message.seq,
        first_index=message.seq * segments.CHUNK_SIZE,  # chunks hold at most CHUNK_SIZE ids
        customer_ids=list(message.customer_ids),
    )


def _segment_job_of(s: Stores, shop: str, job_id: str, segment_id: str) -> Job | None:
    job = s.jobs.get(shop, job_id)
    if job is None or job.segment_id != segment_id:
        _log().warning("segment message for an unknown job dropped", extra={"job_id": job_id})
        return None
    return job


def segment_members(message: SegmentMembers, stores: Stores | None = None) -> None:
    """One chunk of a segment's members: the job learns its size and (from the last chunk)
    its chunk count, then the chunk is issued like a list's (``seq`` is its number, so a
    copy of it issues and counts nothing twice)."""
    s = stores_or_default(stores)
    job = _segment_job_of(s, message.shop, message.job_id, message.segment_id)
    if job is None:
        return
    s.jobs.note_members(
        message.shop, message.job_id, message.total_members, message.seq + 1 if message.last else None
    )
    chunk = as_issue_chunk(message, job.template_id)
    if chunk is not None:
        issue_chunk(chunk, s)
        return
    job = s.jobs.get(message.shop, message.job_id) or job
    if not job.chunk_done(message.seq):  # an empty chunk (an empty segment): done with no one
        s.jobs.complete_chunk(message.shop, job, message.seq, 0, {"issued": 0})


def segment_failed(message: SegmentExportFailed, stores: Stores | None = None) -> None:
    """The segment's members cannot be had: the job is done with nothing issued."""
    s = stores_or_default(stores)
    if _segment_job_of(s, message.shop, message.job_id, message.segment_id) is not None:
        s.jobs.fail_export(message.shop, message.job_id, message.reason)


def mark_members_dead_lettered(message: SegmentMembers, stores: Stores | None = None) -> bool:
    """A chunk of members on its last receive: recorded dead-lettered like a list's chunk."""
    s = stores_or_default(stores)
    job = _segment_job_of(s, message.shop, message.job_id, message.segment_id)
    if job is None:
        return False
    s.jobs.note_members(
        message.shop, message.job_id, message.total_members, message.seq + 1 if message.last else None
    )
    chunk = as_issue_chunk(message, job.template_id)
    if chunk is not None:
        return mark_dead_lettered(chunk, s)
    job = s.jobs.get(message.shop, message.job_id) or job
    if job.chunk_done(message.seq):
        return False
    return s.jobs.mark_dead(message.shop, job, message.seq, [])  # an empty chunk: done, no one failed


def get_issue_job(shop: str, job_id: str, stores: Stores | None = None) -> IssueJobOut:
    job = stores_or_default(stores).jobs.get(shop, job_id)
    if job is None:
        raise NotFound("no such issue job")
    return IssueJobOut.model_validate(domain.job_view(job))


# ---- one chunk -----------------------------------------------------------------------------


def issue_chunk(message: IssueChunk, stores: Stores | None = None) -> None:
    """Issue one chunk of a bulk job; a redelivered chunk issues and counts nothing twice."""
    s = stores_or_default(stores)
    shop, job_id = message.shop, message.job_id
    job = s.jobs.get(shop, job_id)
    if job is None:
        _log().warning("issue chunk for an unknown job dropped", extra={"job_id": job_id})
        return
    if job.chunk_done(message.chunk):
        return
    if not job.started:
        s.jobs.mark_started(shop, job_id)
    template = s.templates.get(shop, message.template_id)
    plan = s.jobs.get_plan(shop, job_id, message.chunk)
    fresh = plan is None
    if plan is None:
        plan = _plan_chunk(s, shop, template, message)
        if not s.jobs.put_plan(shop, job_id, message.chunk, plan):  # a concurrent copy fixed it first
            plan = s.jobs.get_plan(shop, job_id, message.chunk) or plan
            fresh = False
    for shard, _, _ in plan.blocks:
        s.stock.finish_block(shop, message.template_id, shard, _op(job_id, message.chunk))
    holder = f"job:{job_id}"
    for customer in plan.losers:
        s.limits.release(shop, message.template_id, customer, holder)
    if plan.winners and template is not None:
        _write_chunk_coupons(s, shop, template, plan, job_id, check_existing=not fresh)
    outcome = {
        "issued": len(plan.winners),
        "skipped_by": plan.skipped_by,
        "failed_by": plan.failed_by,
        "samples": plan.samples,
    }
    s.jobs.complete_chunk(shop, job, message.chunk, len(message.customer_ids), outcome)


def mark_dead_lettered(message: IssueChunk, stores: Stores | None = None) -> bool:
    """Record a chunk on its last receive as dead-lettered on its job (see the module)."""
    s = stores_or_default(stores)
    job = s.jobs.get(message.shop, message.job_id)
    if job is None or job.chunk_done(message.chunk):
        return False
    recorded = s.jobs.mark_dead(message.shop, job, message.chunk, message.customer_ids)
    if recorded:
        _log().warning(
            "issue chunk on its last attempt recorded as dead-lettered",
            extra={"job_id": message.job_id, "chunk": message.chunk},
        )
    return recorded


def _available(s: Stores, shop: str, template: Template, op: str) -> tuple[int, str | None]:
    """Units left on the shards (one consistent read), plus those ``op`` already holds; and
    the halt on them (``paused``, ``ended``), if any."""
    shards = s.stock.shards(shop, template.template_id, template.shard_count)
    halted = next((n.halted for n in shards if n.halted), None)
    return sum(max(0, n.cap - n.taken) + n.held_by(op) for n in shards), halted


def _halt_reason(halted: str) -> str:
    return domain.FAILED_PAUSED if halted == "paused" else domain.FAILED_NOT_ACTIVE


def _plan_chunk(s: Stores, shop: str, template: Template | None, message: IssueChunk) -> Plan:
    """Who gets which unit of stock, and why the others get none (see the module)."""
    customers = message.customer_ids
    outcome = domain.Outcome()
    if template is None:
        outcome.fail(domain.FAILED_TEMPLATE, customers)
        return Plan(skipped_by=outcome.skipped, failed_by=outcome.failed, samples=outcome.samples)
    if domain.window_state(template, clock.now()) != "active" or template.status == "ended":
        outcome.fail(domain.FAILED_NOT_ACTIVE, customers)
        return Plan(skipped_by=outcome.skipped, failed_by=outcome.failed, samples=outcome.samples)
    op = _op(message.job_id, message.chunk)
    available, halted = _available(s, shop, template, op)
    if halted:
        outcome.fail(_halt_reason(halted), customers)
        return Plan(skipped_by=outcome.skipped, failed_by=outcome.failed, samples=outcome.samples)
    holder = f"job:{message.job_id}"
    reserved: list[tuple[int, str]] = []
    at_limit: list[str] = []
    tried = 0
    for position, customer in enumerate(customers):
        if len(reserved) >= available:
            break
        tried = position + 1
        if s.limits.reserve(shop, message.template_id, customer, template.per_customer_limit, holder) == (
            "limit_reached"
        ):
            at_limit.append(customer)
        else:
            reserved.append((message.first_index + position, customer))
    untried = customers[tried:]
    blocks, halted = claims.take_units(s, shop, template, len(reserved), op) if reserved else ([], None)
    slots = [(shard, first + i) for shard, first, count in blocks for i in range(count)]
    losers = [customer for _, customer in reserved[len(slots) :]]
    outcome.skip(domain.SKIPPED_LIMIT, at_limit)
    if halted:  # paused or ended while the chunk ran: those not served failed for that reason
        outcome.fail(_halt_reason(halted), losers + untried)
    else:
        outcome.skip(domain.SKIPPED_SOLD_OUT, losers + untried)
    return Plan(
        winners=tuple(
            (index, customer, shard, slot)
            for (index, customer), (shard, slot) in zip(reserved, slots, strict=False)
        ),
        losers=tuple(losers),
        blocks=tuple(blocks),
        skipped_by=outcome.skipped,
        failed_by=outcome.failed,
        samples=outcome.samples,
    )


def _write_chunk_coupons(
    s: Stores, shop: str, template: Template, plan: Plan, job_id: str, check_existing: bool
) -> None:
    now = clock.now()
    winners = list(plan.winners)
    if check_existing:  # a retry: never overwrite a coupon already written (it may be locked by now)
        done = s.coupons.existing(shop, [(c, chunk_coupon_id(job_id, i)) for i, c, _, _ in winners])
        winners = [w for w in winners if chunk_coupon_id(job_id, w[0]) not in done]
    amounts = lucky_amounts_of(s, shop, template, [slot for _, _, _, slot in winners])
    coupons = [
        Coupon.from_item(
            domain.new_coupon(
                template,
                coupon_id=chunk_coupon_id(job_id, index),
                customer_id=customer,
                issued_at=now,
                shard=shard,
                slot=slot,
                lucky_amount=amounts.get(slot),
                source="bulk",
            )
        )
        for index, customer, shard, slot in winners
    ]
    s.coupons.create_many(shop, coupons)
