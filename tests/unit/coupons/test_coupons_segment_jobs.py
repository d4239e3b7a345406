"""A job issuing to an audience segment, on in-memory fakes: member chunks out of order, the
last one first, copies of a chunk, an empty segment, a dead-lettered chunk of members and a
failed export; the job's totals end exact and it is done only after every chunk up to the
last."""

from __future__ import annotations

import pytest

from campaign_shared.segments import SegmentExportFailed, SegmentMembers
from chalicelib.coupons.models import TemplateIn
from chalicelib.coupons.store.records import Job
from chalicelib.coupons.usecases import bulk, templates

from .fakes import fake_stores


@pytest.fixture
def stores():
    return fake_stores()


def segment_job(stores, stock=2000, job_id="job-seg"):
    body = TemplateIn(name="t", kind="amount_off", amount_off=500, total_stock=stock)
    tid = templates.create_template("s1", body, stores).template_id
    job = Job(
        job_id=job_id, template_id=tid, total=0, chunk_total=0, segment_id="seg-1", members_pending=True
    )
    stores.jobs.create("s1", job)
    return tid


def members(seq, ids, last, total, job_id="job-seg"):
    return SegmentMembers(
        shop="s1",
        job_id=job_id,
        segment_id="seg-1",
        seq=seq,
        customer_ids=ids,
        last=last,
        total_members=total,
    )


def view(stores):
    return bulk.get_issue_job("s1", "job-seg", stores)


def test_chunks_out_of_order_and_copies_issue_each_member_once(stores):
    segment_job(stores)
    chunks = [members(n, [f"c-{n}-{i}" for i in range(500 if n < 2 else 7)], n == 2, 1007) for n in range(3)]
    bulk.segment_members(chunks[2], stores)  # the last first
    assert view(stores).status == "running" and view(stores).total == 1007
    bulk.segment_members(chunks[0], stores)
    bulk.segment_members(chunks[2], stores)  # a copy
    assert view(stores).status == "running"  # chunk 1 is still to come
    bulk.segment_members(chunks[1], stores)
    bulk.segment_members(chunks[0], stores)  # a copy after done
    done = view(stores)
    assert (done.status, done.total, done.issued, done.skipped, done.failed) == ("done", 1007, 1007, 0, 0)
    owners = [c.customer_id for c in stores.coupons.items.values()]
    assert len(owners) == len(set(owners)) == 1007


def test_an_empty_segment_is_one_empty_last_chunk(stores):
    segment_job(stores)
    bulk.segment_members(members(0, [], True, 0), stores)
    bulk.segment_members(members(0, [], True, 0), stores)
    done = view(stores)
    assert (done.status, done.total, done.issued) == ("done", 0, 0)


def test_a_dead_lettered_chunk_of_members_ends_the_job_and_a_redrive_counts_it(stores):
    segment_job(stores)
    bulk.segment_members(members(0, ["a", "b"], False, 3), stores)
    assert bulk.mark_members_dead_lettered(members(1, ["c"], True, 3), stores)
    dead = view(stores)
    assert (dead.status, dead.failed_by_reason, dead.dead_lettered_chunks) == (
        "done",
        {"dead_lettered": 1},
        [1],
    )
    bulk.segment_members(members(1, ["c"], True, 3), stores)  # redriven, succeeds
    done = view(stores)
    assert (done.issued, done.failed, done.dead_lettered_chunks) == (3, 0, [])


def test_an_empty_last_chunk_dead_lettered_still_ends_the_job(stores):
    segment_job(stores)
    bulk.segment_members(members(0, ["a"], False, 1), stores)
    assert bulk.mark_members_dead_lettered(members(1, [], True, 1), stores)
    assert (view(stores).status, view(stores).issued, view(stores).failed) == ("done", 1, 0)


def test_a_failed_export_ends_the_job_once_and_members_of_another_job_are_dropped(stores):
    segment_job(stores)
    failed = SegmentExportFailed(shop="s1", job_id="job-seg", segment_id="seg-1", reason="unknown_segment")
    bulk.segment_failed(failed, stores)
    bulk.segment_failed(failed, stores)
    done = view(stores)
    assert (done.status, done.segment_error, done.total) == ("done", "unknown_segment", 0)
    bulk.segment_members(members(0, ["x"], True, 1, job_id="job-other"), stores)  # no such job: dropped
    assert stores.coupons.items == {}
