"""Bulk issue jobs and their chunks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from campaign_shared.types import Id, In, Out
from chalicelib.coupons.models.common import (
    MAX_BULK_CUSTOMERS,
)

# ---- bulk issue -------------------------------------------------------------------------


class IssueJobIn(In):
    """Whom to issue to: a list of customer ids, or an audience segment (exactly one)."""

    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_CUSTOMERS)] | None = None
    segment_id: Id | None = Field(
        default=None,
        description="An audience segment: the audience service streams its members to the job "
        "(campaign_shared.segments); total is known once the first chunk arrives.",
    )

    @model_validator(mode="after")
    def _one_audience(self) -> IssueJobIn:
        if (self.customer_ids is None) == (self.segment_id is None):
            raise ValueError("give exactly one of customer_ids and segment_id")
        return self


class IssueJobAccepted(Out):
    job_id: str
    status: Literal["queued", "running", "done"]
    total: int


class IssueJobOut(Out):
    job_id: str
    template_id: str
    status: Literal["queued", "running", "done"]
    total: int = Field(description="customer_ids posted; issued + skipped + failed reaches it when done")
    issued: int
    skipped: int = Field(
        description="customers not due a coupon: duplicates in the list, customers already at their "
        "limit, and those left when the stock ran out (see skipped_by_reason)"
    )
    failed: int = Field(
        description="customers the job could not serve: the claim window was over, the template is gone, "
        "or their chunk went to the dead-letter queue (see failed_by_reason)"
    )
    skipped_by_reason: dict[str, int] = Field(
        default_factory=dict,
        description="skipped by reason code (codes with a count): duplicate, per_customer_limit_reached, "
        "sold_out; the counts add up to skipped",
    )
    failed_by_reason: dict[str, int] = Field(
        default_factory=dict,
        description="failed by reason code (codes with a count): not_active (window over or template "
        "ended), paused, template_not_found, dead_lettered; the counts add up to failed",
    )
    samples: dict[str, list[str]] = Field(
        default_factory=dict, description="up to 10 customer ids per reason code, for a look at who"
    )
    segment_id: str | None = Field(default=None, description="The audience segment it issues to, if any.")
    segment_error: str | None = Field(
        default=None,
        description="Why the segment's members could not be had (unknown_segment, not_materialized): "
        "the job is done with nothing issued.",
    )
    dead_lettered_chunks: list[int] = Field(
        default_factory=list,
        description="chunks (numbered from 0, 500 customers or fewer each) that went to the dead-letter "
        "queue; their customers are failed / dead_lettered. A redrive that succeeds replaces that with "
        "the chunk's real outcome and removes it from this list",
    )
    created_at: str


class IssueChunk(In):
    """One slice of a bulk issue job, on the coupons service's bulk queue."""

    type: Literal["coupon.issue_chunk"] = "coupon.issue_chunk"
    shop: Id
    job_id: Id
    template_id: Id
    chunk: Annotated[int, Field(ge=0)]
    first_index: Annotated[int, Field(ge=0)]
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


# ---- invalidations (作废) ------------------------------------------------------------------


class InvalidationIn(In):
    return_stock: bool = Field(
        default=False, description="Put the units of the coupons it voids back into the stock (not on lucky)."
    )


class InvalidationOut(Out):
    invalidation_id: str
    template_id: str
    status: Literal["running", "done"]
    return_stock: bool
    voided: int = Field(
        description="Unused coupons voided (available, or held by a lock or gift that lapsed)."
    )
    voided_on_release: int = Field(
        description="Coupons locked to a running order: each is voided when its lock is released."
    )
    stock_returned: int = Field(description="Units put back into the stock (with return_stock, once done).")
    created_at: str
    created_by: str


class InvalidationPage(In):
    """One page of one scan segment of an invalidation, on the bulk queue."""

    type: Literal["coupon.invalidation_page"] = "coupon.invalidation_page"
    shop: Id
    invalidation_id: Id
    segment: Annotated[int, Field(ge=0, le=63)]
    page: Annotated[int, Field(ge=0)]
    start: dict[str, str] | None = None
