"""Bulk issue jobs: one chunk of up to 500 customers per message, on the coupons service's
own bulk queue (so order events and grants never wait behind a job).

A chunk keeps the invariants of ``issuing`` (never more than ``total_stock``, never more per
customer than the limit, nothing issued twice however often the message comes):

1. **How much stock is left**, from one consistent read of the stock shards (units this
   chunk already took on an earlier attempt count as its own).
2. **Count customers against their limit, in order, only until there is stock for the
   ones counted.** Everyone after that is ``skipped`` / ``sold_out`` without a single write:
   the chunk is about to take every unit left. A sold-out job therefore stops early: its
   remaining chunks cost two writes each (plan, job), not two per customer.
3. **Take the stock in blocks** (``issuing.take_units``); a customer counted but left
   without a unit (a claim took it in between) gets the count back and is ``sold_out`` too.
4. **Fix the outcome in a plan record** before any coupon is written, write the coupons
   (ids derived from the job, so a retry writes the same ones), then add the outcome to the
   job once (``store_jobs.complete_chunk``).

A chunk that keeps failing goes to the bulk DLQ. On its last receive the consumer first
records it on the job as dead-lettered (``mark_dead_lettered``: done, its customers counted
``failed`` / ``dead_lettered``), so the job reaches ``done`` whatever kills the last attempt.
If that attempt succeeds after all, or the message is redriven from the DLQ later
(``campaign dlq NAME --redrive --service coupons-bulk``) and succeeds, the chunk's real
outcome replaces the dead-lettered count in one conditional write.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import clock
from chalicelib.coupons import domain, issuing, store, store_jobs, store_stock
from chalicelib.coupons.models import IssueChunk


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def chunk_coupon_id(job_id: str, index: int) -> str:
    """Derived from the job, so a retry writes the same coupon; time-sortable like claim ids."""
    return f"cp-{job_id.removeprefix('job-')}-{index}"


def _op(job_id: str, chunk: int) -> str:
    """The chunk's key on the stock shards (``take_block``)."""
    return f"job:{job_id}:{chunk}"


def issue_chunk(message: IssueChunk) -> None:
    """Issue one chunk of a bulk job; a redelivered chunk issues and counts nothing twice."""
    shop, job_id = message.shop, message.job_id
    job = store_jobs.get_job(shop, job_id)
    if job is None:
        _log().warning("issue chunk for an unknown job dropped", extra={"job_id": job_id})
        return
    if store_jobs.chunk_done(job, message.chunk):
        return
    if not job.get("started"):
        store_jobs.mark_started(shop, job_id)
    template = store_stock.get_template(shop, message.template_id)
    plan = store_jobs.get_plan(shop, job_id, message.chunk)
    fresh = plan is None
    if plan is None:
        plan = _plan_chunk(shop, template, message)
        if not store_jobs.put_plan(shop, job_id, message.chunk, plan):  # a concurrent copy fixed it first
            plan = store_jobs.get_plan(shop, job_id, message.chunk) or plan
            fresh = False
    for shard, _, _ in plan["blocks"]:
        store_stock.finish_block(shop, message.template_id, int(shard), _op(job_id, message.chunk))
    holder = f"job:{job_id}"
    for customer in plan["losers"]:
        store.release(shop, message.template_id, customer, holder)
    if plan["winners"] and template is not None:
        _write_chunk_coupons(shop, template, plan, job_id, check_existing=not fresh)
    store_jobs.complete_chunk(shop, job, message.chunk, len(message.customer_ids), _outcome(plan))


def mark_dead_lettered(message: IssueChunk) -> bool:
    """Record a chunk on its last receive as dead-lettered on its job (see the module)."""
    job = store_jobs.get_job(message.shop, message.job_id)
    if job is None or store_jobs.chunk_done(job, message.chunk):
        return False
    recorded = store_jobs.mark_dead(message.shop, job, message.chunk, message.customer_ids)
    if recorded:
        _log().warning(
            "issue chunk on its last attempt recorded as dead-lettered",
            extra={"job_id": message.job_id, "chunk": message.chunk},
        )
    return recorded


def _outcome(plan: dict[str, Any]) -> dict[str, Any]:
    if "skipped_by" in plan:
        return {**plan, "issued": len(plan["winners"])}
    # A plan fixed before reasons were recorded (a chunk retried across an upgrade).
    return {
        "issued": len(plan["winners"]),
        "skipped_by": {
            domain.SKIPPED_LIMIT: int(plan.get("skipped", 0)),
            domain.SKIPPED_SOLD_OUT: len(plan["losers"]),
        },
        "failed_by": {domain.FAILED_NOT_ACTIVE: int(plan.get("failed", 0))},
    }


def _available(shop: str, template: dict[str, Any], op: str) -> int:
    """Units left on the shards (one consistent read), plus those ``op`` already holds."""
    shards = store_stock.get_shards(shop, template["template_id"], int(template["shard_count"]))
    free = sum(max(0, int(s.get("cap", 0)) - int(s.get("taken", 0))) for s in shards)
    held = sum(int((s.get("inflight") or {}).get(f"{op}:c", 0)) for s in shards)
    return free + held


def _plan_chunk(shop: str, template: dict[str, Any] | None, message: IssueChunk) -> dict[str, Any]:
    """Who gets which unit of stock, and why the others get none (see the module)."""
    customers = message.customer_ids
    outcome = domain.Outcome()
    plan: dict[str, Any] = {"winners": [], "losers": [], "blocks": []}
    if template is None:
        outcome.fail(domain.FAILED_TEMPLATE, customers)
        return {**plan, **outcome.as_record()}
    if domain.window_state(template, clock.now()) != "active":
        outcome.fail(domain.FAILED_NOT_ACTIVE, customers)
        return {**plan, **outcome.as_record()}
    op = _op(message.job_id, message.chunk)
    available = _available(shop, template, op)
    holder = f"job:{message.job_id}"
    limit = int(template["per_customer_limit"])
    reserved: list[tuple[int, str]] = []
    at_limit: list[str] = []
    tried = 0
    for position, customer in enumerate(customers):
        if len(reserved) >= available:
            break
        tried = position + 1
        if store.reserve(shop, message.template_id, customer, limit, holder) == "limit_reached":
            at_limit.append(customer)
        else:
            reserved.append((message.first_index + position, customer))
    untried = customers[tried:]
    blocks = issuing.take_units(shop, template, len(reserved), op) if reserved else []
    slots = [(shard, first + i) for shard, first, count in blocks for i in range(count)]
    losers = [customer for _, customer in reserved[len(slots) :]]
    outcome.skip(domain.SKIPPED_LIMIT, at_limit)
    outcome.skip(domain.SKIPPED_SOLD_OUT, losers + untried)
    return {
        **plan,
        **outcome.as_record(),
        "winners": [
            [index, customer, shard, slot]
            for (index, customer), (shard, slot) in zip(reserved, slots, strict=False)
        ],
        "losers": losers,
        "blocks": [list(b) for b in blocks],
    }


def _write_chunk_coupons(
    shop: str, template: dict[str, Any], plan: dict[str, Any], job_id: str, check_existing: bool
) -> None:
    now = clock.now()
    winners = [(int(i), str(c), int(shard), int(slot)) for i, c, shard, slot in plan["winners"]]
    if check_existing:  # a retry: never overwrite a coupon already written (it may be locked by now)
        done = store.existing_coupons(shop, [(c, chunk_coupon_id(job_id, i)) for i, c, _, _ in winners])
        winners = [w for w in winners if chunk_coupon_id(job_id, w[0]) not in done]
    amounts = issuing.lucky_amounts_of(shop, template, [slot for _, _, _, slot in winners])
    coupons = [
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
        for index, customer, shard, slot in winners
    ]
    store.put_coupons(shop, coupons)
