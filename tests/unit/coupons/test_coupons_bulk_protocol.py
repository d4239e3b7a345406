"""The bulk-issue chunk on in-memory fakes (no moto): redeliveries, a write whose answer was
lost, a crash between the chunk's writes (a rerun completes it exactly once), a chunk
recorded as dead-lettered that succeeds after all, and a plan stored before reasons were
recorded (the old format) read through the new code."""

from __future__ import annotations

import pytest

from chalicelib.coupons import domain
from chalicelib.coupons.models import IssueChunk, TemplateIn
from chalicelib.coupons.store.records import Job, Plan
from chalicelib.coupons.usecases import bulk, claims, templates

from .fakes import Crash, Faults, fake_stores


@pytest.fixture
def stores():
    return fake_stores()


@pytest.fixture
def faults():
    injected = Faults()
    yield injected
    injected.undo()


def setup_job(stores, customers, total_stock=5, per_customer_limit=1, job_id="job-1"):
    body = TemplateIn(
        name="t",
        kind="amount_off",
        amount_off=500,
        total_stock=total_stock,
        per_customer_limit=per_customer_limit,
    )
    tid = templates.create_template("s1", body, stores).template_id
    stores.jobs.create("s1", Job(job_id=job_id, template_id=tid, total=len(customers), chunk_total=1))
    return tid, IssueChunk(
        shop="s1", job_id=job_id, template_id=tid, chunk=0, first_index=0, customer_ids=customers
    )


def wallet_sizes(stores, customers):
    return [sum(1 for k in stores.coupons.items if k[1] == c) for c in customers]


def shard_totals(stores, tid):
    shards = [s for k, s in stores.stock.items.items() if k[1] == tid]
    return sum(s.taken for s in shards), {k: v for s in shards for k, v in s.inflight.items()}


def job_of(stores):
    return stores.jobs.items[("s1", "job-1")]


CUSTOMERS = [f"c{i}" for i in range(8)]


def check_once(stores, tid):
    """5 units for 8 customers: the first 5 get one each, 3 are sold out, counted once."""
    job = job_of(stores)
    assert (job.issued, job.skipped, job.failed) == (5, 3, 0)
    assert job.skipped_by == {"sold_out": 3} and job.samples == {"sold_out": CUSTOMERS[5:]}
    assert domain.job_status(job) == "done"
    assert wallet_sizes(stores, CUSTOMERS) == [1] * 5 + [0] * 3
    assert shard_totals(stores, tid) == (5, {})
    assert [stores.limits.counts.get(("s1", tid, c), 0) for c in CUSTOMERS] == [1] * 5 + [0] * 3


def test_a_chunk_issues_in_order_until_the_stock_is_gone(stores):
    tid, chunk = setup_job(stores, CUSTOMERS)
    bulk.issue_chunk(chunk, stores)
    check_once(stores, tid)


def test_a_redelivered_chunk_issues_and_counts_nothing_twice(stores):
    tid, chunk = setup_job(stores, CUSTOMERS)
    for _ in range(3):
        bulk.issue_chunk(chunk, stores)
    check_once(stores, tid)


@pytest.mark.parametrize(
    "write",
    [("jobs", "put_plan"), ("stock", "take_block"), ("stock", "finish_block"), ("coupons", "create_many")],
)
def test_a_crash_between_the_chunks_writes_is_completed_once_by_the_redelivery(stores, faults, write):
    tid, chunk = setup_job(stores, CUSTOMERS)
    repo, method = write
    faults.crash_after(getattr(stores, repo), method)
    with pytest.raises(Crash):
        bulk.issue_chunk(chunk, stores)
    assert job_of(stores).issued == 0  # nothing counted yet
    faults.undo()
    bulk.issue_chunk(chunk, stores)
    bulk.issue_chunk(chunk, stores)  # and a late duplicate
    check_once(stores, tid)


def test_a_crash_after_the_limit_counts_is_completed_once(stores, faults):
    tid, chunk = setup_job(stores, CUSTOMERS)
    faults.crash_after(stores.limits, "reserve", times=1)
    with pytest.raises(Crash):
        bulk.issue_chunk(chunk, stores)
    faults.undo()
    bulk.issue_chunk(chunk, stores)
    check_once(stores, tid)


@pytest.mark.parametrize(
    "write", [("limits", "reserve"), ("stock", "take_block"), ("jobs", "complete_chunk")]
)
def test_writes_whose_answer_was_lost_count_once(stores, faults, write):
    tid, chunk = setup_job(stores, CUSTOMERS)
    repo, method = write
    faults.lost_answer(getattr(stores, repo), method, times=100)
    bulk.issue_chunk(chunk, stores)
    faults.undo()
    check_once(stores, tid)


def test_customers_at_their_limit_are_skipped_and_claims_in_between_make_losers(stores, monkeypatch):
    tid, chunk = setup_job(stores, CUSTOMERS[:4], total_stock=4)
    claims.claim("s1", tid, "c0", stores)  # c0 holds the one allowed; 3 units left for c1..c3
    real = claims.take_units

    def a_claim_first(*args, **kwargs):
        claims.claim("s1", tid, "fast", stores)  # takes a unit between the stock read and the take
        monkeypatch.setattr(claims, "take_units", real)
        return real(*args, **kwargs)

    monkeypatch.setattr(claims, "take_units", a_claim_first)
    bulk.issue_chunk(chunk, stores)
    job = job_of(stores)
    assert (job.issued, job.skipped) == (2, 2)
    assert job.skipped_by == {"per_customer_limit_reached": 1, "sold_out": 1}
    assert job.samples == {"per_customer_limit_reached": ["c0"], "sold_out": ["c3"]}
    assert stores.limits.counts[("s1", tid, "c3")] == 0  # counted, lost the race, given back
    assert shard_totals(stores, tid) == (4, {})


def test_a_chunk_recorded_as_dead_lettered_that_succeeds_after_all_counts_once(stores):
    tid, chunk = setup_job(stores, CUSTOMERS)
    assert bulk.mark_dead_lettered(chunk, stores) and not bulk.mark_dead_lettered(chunk, stores)
    dead = job_of(stores)
    assert (dead.failed, dead.failed_by, sorted(dead.dead_chunks)) == (8, {"dead_lettered": 8}, ["0"])
    bulk.issue_chunk(chunk, stores)
    bulk.issue_chunk(chunk, stores)
    job = job_of(stores)
    assert (job.issued, job.skipped, job.failed, job.dead_chunks) == (5, 3, 0, frozenset())
    assert job.failed_by == {"dead_lettered": 0}
    assert wallet_sizes(stores, CUSTOMERS) == [1] * 5 + [0] * 3


def test_a_plan_stored_before_reasons_were_recorded_is_read_and_counted(stores):
    """The old plan format: ``skipped``/``failed`` totals, no ``skipped_by``/``failed_by``."""
    tid, chunk = setup_job(stores, ["a", "b", "c"], total_stock=1)
    shards = stores.stock.shards("s1", tid, 1)
    assert shards[0].cap == 1
    stores.stock.take_block("s1", tid, 0, 1, 1, "job:job-1:0")
    stores.limits.reserve("s1", tid, "a", 1, "job:job-1")
    old = {"winners": [[0, "a", 0, 0]], "losers": [], "blocks": [[0, 0, 1]], "skipped": 2, "failed": 0}
    stores.jobs.plans[("s1", "job-1", "0")] = Plan.from_item(old)
    bulk.issue_chunk(chunk, stores)
    job = job_of(stores)
    assert (job.issued, job.skipped, job.failed) == (1, 2, 0)
    assert job.skipped_by == {"per_customer_limit_reached": 2, "sold_out": 0}
    assert wallet_sizes(stores, ["a", "b", "c"]) == [1, 0, 0] and shard_totals(stores, tid) == (1, {})
