"""Tags: one customer at a time, lists, and bulk-tag jobs of up to 100,000 ids (a job item and
chunks of 500 ids on the service's own queue, each chunk counted once)."""

from __future__ import annotations

import uuid
from typing import Any

from campaign_shared import clock, messaging
from campaign_shared.errors import InvalidRequest, NotFound
from campaign_shared.storage.paging import PageParams
from chalicelib.audience.domain import tags as rules
from chalicelib.audience.models import (
    AudienceTagCount,
    AudienceTagJobIn,
    AudienceTagJobOut,
    AudienceTagList,
    AudienceTagMemberList,
    AudienceTagOut,
)
from chalicelib.audience.store.jobs import TagJobsRepository
from chalicelib.audience.store.tags import TagsRepository

CHUNK_TYPE = "audience.tag_chunk"


def _tag(tag: str) -> str:
    try:
        return rules.check_tag(tag)
    except rules.TagError as exc:
        raise InvalidRequest(str(exc), details=[{"loc": ["path", "tag"], "msg": str(exc)}]) from None


def set_tag(shop: str, customer_id: str, tag: str, add: bool) -> AudienceTagOut:
    changed = TagsRepository().change(shop, _tag(tag), customer_id, add)
    if changed and add:
        from chalicelib.audience.usecases import automations

        automations.on_tag_added(shop, customer_id, tag)
    return AudienceTagOut(customer_id=customer_id, tag=tag, tagged=add, changed=changed)


def list_tags(shop: str, page: PageParams) -> AudienceTagList:
    items, cursor = TagsRepository().counts(shop, page)
    return AudienceTagList(
        items=[AudienceTagCount(tag=i["tag"], members=int(i["members"])) for i in items], next_cursor=cursor
    )


def list_members(shop: str, tag: str, page: PageParams) -> AudienceTagMemberList:
    ids, cursor = TagsRepository().members(shop, _tag(tag), page)
    return AudienceTagMemberList(items=ids, next_cursor=cursor)


def _job_out(item: dict[str, Any]) -> AudienceTagJobOut:
    done = int(item.get("done_chunks", 0)) >= int(item["chunks"])
    tagged, already = int(item.get("tagged", 0)), int(item.get("already_tagged", 0))
    return AudienceTagJobOut(
        job_id=item["job_id"],
        tag=item["tag"],
        status="done" if done else "running",
        total=int(item["total"]),
        processed=tagged + already,
        tagged=tagged,
        already_tagged=already,
        created_at=item["created_at"],
    )


def start_job(shop: str, body: AudienceTagJobIn) -> AudienceTagJobOut:
    """Record the job, then queue its chunks (10 per call); a failed send is a 503 after
    retries (the client retries with its Idempotency-Key)."""
    parts = rules.chunks(body.customer_ids)
    job_id = str(uuid.uuid4())
    total = sum(len(p) for p in parts)
    jobs = TagJobsRepository()
    jobs.create(shop, job_id, body.tag, total, len(parts), clock.iso(clock.now()))
    messaging.send_batch(
        "audience",
        [
            {"type": CHUNK_TYPE, "shop": shop, "job_id": job_id, "n": n, "tag": body.tag, "customer_ids": ids}
            for n, ids in enumerate(parts)
        ],
    )
    item = jobs.get(shop, job_id)
    assert item is not None
    return _job_out(item)


def get_job(shop: str, job_id: str) -> AudienceTagJobOut:
    item = TagJobsRepository().get(shop, job_id)
    if item is None:
        raise NotFound("no such tag job")
    return _job_out(item)


def run_chunk(shop: str, job_id: str, n: int, tag: str, customer_ids: list[str]) -> None:
    """Tag the chunk's customers and record its counts once. Members made by this same job (a
    redelivered chunk that crashed after its writes) count as tagged by it again, so the counts
    of a redelivery are those of the first attempt."""
    repo = TagsRepository()
    ids = list(dict.fromkeys(customer_ids))
    existing = repo.existing(shop, tag, ids)
    new = [c for c in ids if c not in existing or existing[c] == job_id]
    repo.add_many(shop, tag, new, job_id)
    TagJobsRepository().chunk_done(shop, job_id, n, tag, len(new), len(ids) - len(new))
