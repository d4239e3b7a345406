"""Issuing to a segment: the messages between the coupons service and the audience service.

Neither service imports the other; this module is the whole contract.

1. The coupons service sends a ``segment.export`` to the audience service's main queue
   (``messaging.send("audience", ...)``): ``{shop, segment_id, job_id, template_id,
   reply_to: "coupons"}``. ``job_id`` is the coupons issue job the members are for.
2. The audience service answers on the coupons service's ``bulk`` queue
   (``messaging.send("coupons", ..., queue="bulk")``) with ``segment.members`` chunks:
   ``{shop, job_id, segment_id, seq, customer_ids, last, total_members}``.

   - ``seq`` counts from 0; ``customer_ids`` holds at most ``CHUNK_SIZE`` (500) ids; exactly one
     chunk has ``last: true``, the one with the highest ``seq`` (an empty segment is a single
     chunk ``seq 0`` with no ids and ``last: true``); ``total_members`` is the same in every
     chunk and equals the sum of the chunks' ids.
   - The members are those of the segment's materialized membership snapshot the export was
     pinned to when the first ``segment.export`` of the job was processed. A redelivered or
     repeated ``segment.export`` of the same ``(shop, job_id)`` streams the same snapshot again:
     chunk ``seq`` n has the same ids every time. The coupons side should treat
     ``(job_id, seq)`` as its idempotency key (a chunk may arrive twice and out of order).
3. When the export cannot be served it answers once with ``segment.export_failed``
   ``{shop, job_id, segment_id, reason}``: ``reason`` is ``unknown_segment`` or
   ``not_materialized`` (the segment has never been evaluated yet).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from campaign_shared.types import Id

CHUNK_SIZE = 500
# The coupons service's queue that receives the member chunks.
MEMBERS_QUEUE = "bulk"

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentExport(_Message):
    """coupons -> audience: stream the members of ``segment_id`` for issue job ``job_id``."""

    type: Literal["segment.export"] = "segment.export"
    shop: Id
    segment_id: Id
    job_id: Id
    template_id: Id
    reply_to: Literal["coupons"] = "coupons"


class SegmentMembers(_Message):
    """audience -> coupons (bulk queue): one chunk of members, deterministic per ``seq``."""

    type: Literal["segment.members"] = "segment.members"
    shop: Id
    job_id: Id
    segment_id: Id
    seq: int = Field(ge=0)
    customer_ids: list[Id] = Field(max_length=CHUNK_SIZE)
    last: bool
    total_members: int = Field(ge=0)


class SegmentExportFailed(_Message):
    """audience -> coupons (bulk queue): the export cannot be served (sent once per job)."""

    type: Literal["segment.export_failed"] = "segment.export_failed"
    shop: Id
    job_id: Id
    segment_id: Id
    reason: Reason
