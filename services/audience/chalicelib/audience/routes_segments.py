"""/audience segment routes: definitions, evaluation, preview."""

from __future__ import annotations

from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.audience import models
from chalicelib.audience.usecases import segments


def register(api: ServiceApi) -> None:
    @api.route(
        "/segments",
        methods=["POST"],
        roles=[Role.merchant],
        body=models.AudienceSegmentIn,
        response=models.AudienceSegmentOut,
        status=201,
        errors_=(400,),
        summary="Save a segment definition and start its first evaluation (materialized membership); "
        "unknown fields and inverted ranges are 400.",
    )
    def create_segment(req: ApiRequest) -> Reply:
        return Reply(segments.create(req.shop, req.body), status=201)

    @api.route(
        "/segments",
        roles=[Role.merchant],
        query=PageParams,
        response=models.AudienceSegmentList,
        errors_=(400,),
        summary="The shop's segments, paged.",
    )
    def list_segments(req: ApiRequest) -> models.AudienceSegmentList:
        return segments.list_segments(req.shop, req.query)

    @api.route(
        "/segments/{segment_id}",
        roles=[Role.merchant],
        response=models.AudienceSegmentOut,
        errors_=(404,),
        summary="One segment: its definition, status and the ready snapshot's size.",
    )
    def get_segment(req: ApiRequest) -> models.AudienceSegmentOut:
        return segments.get(req.shop, req.path["segment_id"])

    @api.route(
        "/segments/{segment_id}/evaluations",
        methods=["POST"],
        roles=[Role.merchant],
        response=models.AudienceSegmentOut,
        status=202,
        errors_=(404,),
        summary="Evaluate the segment again now (days since the last order move with time); the "
        "previous snapshot stays the ready one until the new evaluation ends.",
    )
    def evaluate_segment(req: ApiRequest) -> Reply:
        return Reply(segments.evaluate(req.shop, req.path["segment_id"]), status=202)

    @api.route(
        "/segments/{segment_id}/preview",
        roles=[Role.merchant],
        response=models.AudienceSegmentPreview,
        errors_=(404,),
        summary="The size and a sample (up to 20 ids) of the segment's ready snapshot; no scan.",
    )
    def preview_segment(req: ApiRequest) -> models.AudienceSegmentPreview:
        return segments.preview(req.shop, req.path["segment_id"])
