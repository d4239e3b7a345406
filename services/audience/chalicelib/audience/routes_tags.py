"""/audience tag routes: one customer's tags, the shop's tags and their members, bulk jobs."""

from __future__ import annotations

from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.audience import models
from chalicelib.audience.usecases import tags


def register(api: ServiceApi) -> None:
    @api.route(
        "/customers/{customer_id}/tags/{tag}",
        methods=["PUT"],
        roles=[Role.merchant],
        response=models.AudienceTagOut,
        errors_=(400,),
        text_params=("tag",),
        summary="Tag a customer (idempotent); a tag is 1..64 characters without control characters "
        "(URL-encode it in the path).",
    )
    def put_tag(req: ApiRequest) -> models.AudienceTagOut:
        return tags.set_tag(req.shop, req.path["customer_id"], req.path["tag"], add=True)

    @api.route(
        "/customers/{customer_id}/tags/{tag}",
        methods=["DELETE"],
        roles=[Role.merchant],
        status=204,
        errors_=(400,),
        text_params=("tag",),
        summary="Remove a tag from a customer (idempotent: 204 whether or not it was there).",
    )
    def delete_tag(req: ApiRequest) -> Reply:
        tags.set_tag(req.shop, req.path["customer_id"], req.path["tag"], add=False)
        return Reply(None, status=204)

    @api.route(
        "/tags",
        roles=[Role.merchant],
        query=PageParams,
        response=models.AudienceTagList,
        errors_=(400,),
        summary="The shop's tags with their member counts, paged.",
    )
    def list_tags(req: ApiRequest) -> models.AudienceTagList:
        return tags.list_tags(req.shop, req.query)

    @api.route(
        "/tags/{tag}/customers",
        roles=[Role.merchant],
        query=PageParams,
        response=models.AudienceTagMemberList,
        errors_=(400,),
        text_params=("tag",),
        summary="The customers with a tag, paged.",
    )
    def tag_members(req: ApiRequest) -> models.AudienceTagMemberList:
        return tags.list_members(req.shop, req.path["tag"], req.query)

    @api.route(
        "/tag-jobs",
        methods=["POST"],
        roles=[Role.merchant],
        body=models.AudienceTagJobIn,
        response=models.AudienceTagJobOut,
        status=202,
        errors_=(400,),
        summary="Tag up to 100,000 customers in the background; follow it with GET /tag-jobs/{job_id}.",
    )
    def start_tag_job(req: ApiRequest) -> Reply:
        return Reply(tags.start_job(req.shop, req.body), status=202)

    @api.route(
        "/tag-jobs/{job_id}",
        roles=[Role.merchant],
        response=models.AudienceTagJobOut,
        errors_=(404,),
        summary="A bulk-tag job's progress: total, processed, tagged, already_tagged, status.",
    )
    def get_tag_job(req: ApiRequest) -> models.AudienceTagJobOut:
        return tags.get_job(req.shop, req.path["job_id"])
