"""Segments: saved definitions, their materialization (evaluation runs over the shop's profile
shards, as jobs on the queue), the preview of the ready snapshot, and exports to the coupons
service (``campaign_shared.segments``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from campaign_shared import clock, messaging
from campaign_shared.errors import NotFound
from campaign_shared.segments import (
    CHUNK_SIZE,
    MEMBERS_QUEUE,
    SegmentExport,
    SegmentExportFailed,
    SegmentMembers,
)
from campaign_shared.storage.paging import PageParams
from chalicelib.audience.domain.segments import AudienceSegmentDefinition, matches
from chalicelib.audience.models import (
    AudienceSegmentIn,
    AudienceSegmentList,
    AudienceSegmentOut,
    AudienceSegmentPreview,
)
from chalicelib.audience.store.keys import PROFILE_SHARDS
from chalicelib.audience.store.segments import SegmentsRepository
from chalicelib.audience.usecases.common import stores

PAGE_TYPE = "audience.segment_page"
EXPORT_PAGE_TYPE = "audience.export_page"
EXPORT_WAIT_TYPE = "audience.export_wait"
PAGE_SIZE = 1000  # profiles read per evaluation message (a Query page of a few hundred KB)
CHUNKS_PER_MESSAGE = 10  # member chunks sent per export message
SAMPLE_SIZE = 20
WAIT_SECONDS = 30
MAX_WAITS = 20  # an export waits up to 10 minutes for a segment's first evaluation


def _at(epoch: int) -> str:
    return clock.iso(datetime.fromtimestamp(int(epoch), UTC))


def _definition(item: dict[str, Any]) -> AudienceSegmentDefinition:
    return AudienceSegmentDefinition.model_validate(item["definition"])


def _out(item: dict[str, Any]) -> AudienceSegmentOut:
    return AudienceSegmentOut(
        segment_id=item["segment_id"],
        name=item["name"],
        definition=item["definition"],
        created_at=item["created_at"],
        status="ready" if item.get("ready_run") else "evaluating",
        size=item.get("ready_size"),
        evaluated_at=_at(item["ready_as_of"]) if item.get("ready_as_of") else None,
    )


def _start_run(shop: str, segment_id: str) -> None:
    run = uuid.uuid4().hex[:16]
    as_of = clock.epoch(clock.now())
    repo = SegmentsRepository()
    if not repo.start_run(shop, segment_id, run, as_of):
        raise NotFound("no such segment")
    messaging.send_batch(
        "audience",
        [
            {
                "type": PAGE_TYPE,
                "shop": shop,
                "segment_id": segment_id,
                "run": run,
                "as_of": as_of,
                "shard": shard,
                "page": 0,
                "start": None,
            }
            for shard in range(PROFILE_SHARDS)
        ],
    )


def create(shop: str, body: AudienceSegmentIn) -> AudienceSegmentOut:
    segment_id = uuid.uuid4().hex[:20]
    item = {
        "segment_id": segment_id,
        "name": body.name,
        "definition": body.definition.model_dump(mode="json", by_alias=True, exclude_none=True),
        "created_at": clock.iso(clock.now()),
    }
    repo = SegmentsRepository()
    repo.create(shop, item)
    _start_run(shop, segment_id)
    return _out(item)


def get(shop: str, segment_id: str) -> AudienceSegmentOut:
    item = SegmentsRepository().get(shop, segment_id)
    if item is None:
        raise NotFound("no such segment")
    return _out(item)


def list_segments(shop: str, page: PageParams) -> AudienceSegmentList:
    items, cursor = SegmentsRepository().page(shop, page)
    return AudienceSegmentList(items=[_out(i) for i in items], next_cursor=cursor)


def evaluate(shop: str, segment_id: str) -> AudienceSegmentOut:
    """Start a new evaluation; the previous snapshot stays the ready one until it ends."""
    _start_run(shop, segment_id)
    return get(shop, segment_id)


def evaluate_all() -> int:
    """Start a new evaluation of every segment of every shop (the daily schedule)."""
    targets = SegmentsRepository().everywhere()
    for shop, segment_id in targets:
        _start_run(shop, segment_id)
    return len(targets)


def preview(shop: str, segment_id: str) -> AudienceSegmentPreview:
    """The ready snapshot's size and a sample: one GetItem and one Query of ``SAMPLE_SIZE``."""
    repo = SegmentsRepository()
    item = repo.get(shop, segment_id)
    if item is None:
        raise NotFound("no such segment")
    run = item.get("ready_run")
    return AudienceSegmentPreview(
        segment_id=segment_id,
        status="ready" if run else "evaluating",
        size=int(item.get("ready_size", 0)),
        sample=repo.sample(shop, segment_id, run, SAMPLE_SIZE) if run else [],
        evaluated_at=_at(item["ready_as_of"]) if run else None,
        evaluating=item.get("run_id") != run,
    )


# ---- evaluation (queue) ---------------------------------------------------------------------


def run_page(message: dict[str, Any]) -> None:
    """Evaluate one page of one profile shard for a run; record it once; chain the next page."""
    shop, segment_id, run = message["shop"], message["segment_id"], message["run"]
    shard, page = int(message["shard"]), int(message["page"])
    repo = SegmentsRepository()
    segment = repo.get(shop, segment_id)
    if segment is None or segment.get("run_id") != run:
        return  # a newer run replaced this one (or the segment is gone)
    marker = repo.page_marker(shop, segment_id, run, shard, page)
    if marker is None:
        definition = _definition(segment)
        profiles, next_start = stores().profiles.shard_page(shop, shard, message.get("start"), PAGE_SIZE)
        members = [p.customer_id for p in profiles if matches(p.profile, definition, int(message["as_of"]))]
        repo.write_members(shop, segment_id, run, members)
        repo.finish_page(shop, segment_id, run, shard, page, len(members), next_start)
        marker = repo.page_marker(shop, segment_id, run, shard, page) or {"next": next_start}
    if marker.get("next"):
        messaging.send("audience", {**message, "page": page + 1, "start": marker["next"]})
    else:
        shards, size = repo.run_progress(shop, segment_id, run)
        if shards >= PROFILE_SHARDS:
            repo.promote(shop, segment_id, run, size)


# ---- exports (queue) ------------------------------------------------------------------------


def _fail(request: SegmentExport, reason: str) -> None:
    failed = SegmentExportFailed(
        shop=request.shop, job_id=request.job_id, segment_id=request.segment_id, reason=reason
    )
    messaging.send("coupons", failed.model_dump(), queue=MEMBERS_QUEUE)


def export(request: SegmentExport, waited: int = 0) -> None:
    """Pin the export of ``job_id`` to the ready snapshot (the first time) and stream it."""
    repo = SegmentsRepository()
    segment = repo.get(request.shop, request.segment_id)
    if segment is None:
        _fail(request, "unknown_segment")
        return
    run = segment.get("ready_run")
    if not run:
        if segment.get("run_id") and waited < MAX_WAITS:  # first evaluation under way: wait
            wait = {"type": EXPORT_WAIT_TYPE, "request": request.model_dump(), "waited": waited + 1}
            messaging.send("audience", wait, delay_seconds=WAIT_SECONDS)
        else:
            _fail(request, "not_materialized")
        return
    total = repo.count_members(request.shop, request.segment_id, run)
    pinned = repo.pin_export(request.shop, request.job_id, request.segment_id, run, total)
    export_page(
        {
            "type": EXPORT_PAGE_TYPE,
            "shop": request.shop,
            "job_id": request.job_id,
            "segment_id": pinned["segment_id"],
            "run": pinned["run"],
            "total": int(pinned["total"]),
            "seq": 0,
            "start": None,
        }
    )


def export_page(message: dict[str, Any]) -> None:
    """Send up to ``CHUNKS_PER_MESSAGE`` chunks from ``seq``, then chain the rest. The snapshot
    is immutable, so chunk ``seq`` has the same ids however often this runs."""
    repo = SegmentsRepository()
    shop, job_id, segment_id, run = message["shop"], message["job_id"], message["segment_id"], message["run"]
    total, seq, start = int(message["total"]), int(message["seq"]), message.get("start")
    for _ in range(CHUNKS_PER_MESSAGE):
        ids, start = repo.member_page(shop, segment_id, run, start, CHUNK_SIZE)
        last = seq * CHUNK_SIZE + len(ids) >= total or start is None
        chunk = SegmentMembers(
            shop=shop,
            job_id=job_id,
            segment_id=segment_id,
            seq=seq,
            customer_ids=ids,
            last=last,
            total_members=total,
        )
        messaging.send("coupons", chunk.model_dump(), queue=MEMBERS_QUEUE)
        if last:
            return
        seq += 1
    messaging.send("audience", {**message, "seq": seq, "start": start})
