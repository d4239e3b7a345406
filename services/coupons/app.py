"""/coupons: routes and message handlers only (parse, call a use case, return)."""

from typing import Any

from campaign_shared import events
from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import consumer, routes_sharing
from chalicelib.coupons.models import (
    CouponOut,
    CouponPage,
    CouponSettingsIn,
    CouponSettingsOut,
    ForCartIn,
    ForCartOut,
    InvalidationIn,
    InvalidationOut,
    IssueJobAccepted,
    IssueJobIn,
    IssueJobOut,
    LockIn,
    LuckyAmountsPage,
    TemplateHistoryPage,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatchIn,
    TemplateQuery,
    TemplateStatsOut,
    ValidateIn,
    ValidateOut,
)
from chalicelib.coupons.usecases import bulk, campaign, invalidations, settings, templates, wallet

api = ServiceApi("coupons")
app = api.app

# Message type -> handler of the parsed message body (idempotent on a business key).
# The main queue: order events and grants (and issue chunks queued there before the bulk
# queue existed, so none is stranded by an upgrade).
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": consumer.on_order_event,
    "order.cancelled": consumer.on_order_event,
    "order.refunded": consumer.on_order_event,
    "coupon.grant": consumer.on_grant,
    "coupon.issue_chunk": consumer.on_issue_chunk,
    "coupon.revoke": consumer.on_revoke,
}
# The bulk queue: bulk-issue chunks, the chunks of link and code batches, invalidation pages,
# and the members of segments (campaign_shared.segments) the audience service streams to jobs.
BULK_HANDLERS: dict[str, events.RecordHandler] = {
    "coupon.issue_chunk": consumer.on_issue_chunk,
    "segment.members": consumer.on_segment_members,
    "segment.export_failed": consumer.on_segment_export_failed,
    "coupon.code_batch": consumer.on_code_chunk,
    "coupon.invalidation_page": consumer.on_invalidation_page,
}


@api.route(
    "/templates",
    methods=["POST"],
    roles=[Role.merchant],
    body=TemplateIn,
    response=TemplateOut,
    status=201,
    summary="Create a coupon template (amount_off, percent_off or lucky).",
)
def create_template(req: ApiRequest) -> TemplateOut:
    return templates.create_template(req.shop, req.body, actor=req.sub)


@api.route(
    "/templates",
    roles=[Role.merchant],
    query=TemplateQuery,
    response=TemplatePage,
    summary="The shop's templates, newest first, paged; filtered by status now (scheduled, active, "
    "paused, ended), kind and text in the name.",
)
def list_templates(req: ApiRequest) -> TemplatePage:
    return campaign.list_templates(req.shop, req.query)


@api.route(
    "/templates/{template_id}",
    roles=[Role.merchant],
    response=TemplateOut,
    errors_=(404,),
    summary="A template with its status, issued_count, redeemed_count and remaining_stock.",
)
def get_template(req: ApiRequest) -> TemplateOut:
    return campaign.get_template(req.shop, req.path["template_id"])


@api.route(
    "/settings",
    roles=[Role.merchant],
    response=CouponSettingsOut,
    summary="The shop's coupon settings: lock_ttl_seconds for templates without their own.",
)
def get_settings(req: ApiRequest) -> CouponSettingsOut:
    return settings.get(req.shop)


@api.route(
    "/settings",
    methods=["PUT"],
    roles=[Role.merchant],
    body=CouponSettingsIn,
    response=CouponSettingsOut,
    summary="Write the shop's coupon settings whole (a setting left out is the default); locks "
    "taken from then on use them.",
)
def put_settings(req: ApiRequest) -> CouponSettingsOut:
    return settings.put(req.shop, req.body, req.sub)


@api.route(
    "/templates/{template_id}/stats",
    roles=[Role.merchant],
    response=TemplateStatsOut,
    errors_=(404,),
    summary="Where a template's coupons stand now: issued, locked, redeemed, expired and invalidated "
    "counts, the discount given and the GMV of the orders that redeemed them.",
)
def template_stats(req: ApiRequest) -> TemplateStatsOut:
    return campaign.stats(req.shop, req.path["template_id"])


@api.route(
    "/templates/{template_id}",
    methods=["PATCH"],
    roles=[Role.merchant],
    body=TemplatePatchIn,
    response=TemplateOut,
    errors_=(404, 409),
    summary="Edit a template: rename, extend valid_until, raise per_customer_limit, add_stock (spread "
    "over the stock shards while claims run). 409 ended.",
)
def edit_template(req: ApiRequest) -> TemplateOut:
    return campaign.edit(req.shop, req.path["template_id"], req.body, req.sub)


@api.route(
    "/templates/{template_id}/pause",
    methods=["POST"],
    roles=[Role.merchant],
    response=TemplateOut,
    errors_=(404, 409),
    summary="Pause claims (409 paused) and issues until resumed; claimed coupons stay usable. 409 ended.",
)
def pause_template(req: ApiRequest) -> TemplateOut:
    return campaign.change_status(req.shop, req.path["template_id"], "pause", req.sub)


@api.route(
    "/templates/{template_id}/resume",
    methods=["POST"],
    roles=[Role.merchant],
    response=TemplateOut,
    errors_=(404, 409),
    summary="Resume claims of a paused template. 409 ended.",
)
def resume_template(req: ApiRequest) -> TemplateOut:
    return campaign.change_status(req.shop, req.path["template_id"], "resume", req.sub)


@api.route(
    "/templates/{template_id}/end",
    methods=["POST"],
    roles=[Role.merchant],
    response=TemplateOut,
    errors_=(404,),
    summary="End the template for good: no more claims or issues; claimed coupons stay usable.",
)
def end_template(req: ApiRequest) -> TemplateOut:
    return campaign.change_status(req.shop, req.path["template_id"], "end", req.sub)


@api.route(
    "/templates/{template_id}/history",
    roles=[Role.merchant],
    query=PageParams,
    response=TemplateHistoryPage,
    errors_=(404,),
    summary="Every change of the template, oldest first: version, who, when, what.",
)
def template_history(req: ApiRequest) -> TemplateHistoryPage:
    return campaign.history(req.shop, req.path["template_id"], req.query)


@api.route(
    "/templates/{template_id}/lucky-amounts",
    roles=[Role.merchant],
    query=PageParams,
    response=LuckyAmountsPage,
    errors_=(404,),
    summary="The lucky amounts drawn at creation, by stock slot (for audit).",
)
def lucky_amounts(req: ApiRequest) -> LuckyAmountsPage:
    return templates.lucky_amounts(req.shop, req.path["template_id"], req.query)


@api.route(
    "/templates/{template_id}/claim",
    methods=["POST"],
    roles=[Role.customer],
    response=CouponOut,
    status=201,
    errors_=(404, 409),
    summary="Claim one coupon; 409 sold_out, per_customer_limit_reached, not_active or paused.",
)
def claim(req: ApiRequest) -> CouponOut:
    return wallet.claim(req.shop, req.path["template_id"], req.sub)


@api.route(
    "/me",
    roles=[Role.customer],
    query=PageParams,
    response=CouponPage,
    summary="The caller's coupons, oldest first, paged.",
)
def my_coupons(req: ApiRequest) -> CouponPage:
    return wallet.my_coupons(req.shop, req.sub, req.query)


@api.route(
    "/customers/{customer_id}/coupons",
    roles=[Role.merchant],
    query=PageParams,
    response=CouponPage,
    summary="A customer's coupons as the merchant sees them, with their conflicts, oldest first, paged.",
)
def customer_coupons(req: ApiRequest) -> CouponPage:
    return wallet.customer_coupons(req.shop, req.path["customer_id"], req.query)


@api.route(
    "/customers/{customer_id}/coupons/{coupon_id}",
    roles=[Role.merchant],
    response=CouponOut,
    errors_=(404,),
    summary="One coupon of a customer, with conflicts: paid orders that named it but did not redeem it "
    "(locked_to_another_order, already_redeemed, expired).",
)
def customer_coupon(req: ApiRequest) -> CouponOut:
    return wallet.customer_coupon(req.shop, req.path["customer_id"], req.path["coupon_id"])


@api.route(
    "/for-cart",
    methods=["POST"],
    roles=[Role.customer],
    body=ForCartIn,
    response=ForCartOut,
    summary="The caller's unspent coupons against a cart: the usable ones with their discount, best "
    "first, and the others with their reason.",
)
def for_cart(req: ApiRequest) -> ForCartOut:
    return wallet.for_cart(req.shop, req.sub, req.body)


@api.route(
    "/validate",
    methods=["POST"],
    roles=[Role.customer],
    body=ValidateIn,
    response=ValidateOut,
    errors_=(404,),
    summary="Whether one of the caller's coupons applies to a cart, and the discount.",
)
def validate(req: ApiRequest) -> ValidateOut:
    return wallet.validate(req.shop, req.sub, req.body)


@api.route(
    "/{coupon_id}/lock",
    methods=["POST"],
    roles=[Role.customer],
    body=LockIn,
    response=CouponOut,
    errors_=(404, 409),
    summary="Lock one of the caller's coupons to an order for its lock time (the template's "
    "lock_ttl_seconds, else the shop's); the same order again is 200, another is 409 not_available "
    "while the lock runs.",
)
def lock(req: ApiRequest) -> CouponOut:
    return wallet.lock(req.shop, req.sub, req.path["coupon_id"], req.body.order_id)


@api.route(
    "/{coupon_id}/unlock",
    methods=["POST"],
    roles=[Role.customer],
    response=CouponOut,
    errors_=(404, 409),
    summary="Release the caller's lock on a coupon (an abandoned checkout): available again; "
    "not locked: 200 as it is; used or revoked: 409 not_available.",
)
def unlock(req: ApiRequest) -> CouponOut:
    return wallet.unlock(req.shop, req.sub, req.path["coupon_id"])


@api.route(
    "/templates/{template_id}/issue-jobs",
    methods=["POST"],
    roles=[Role.merchant],
    body=IssueJobIn,
    response=IssueJobAccepted,
    status=202,
    errors_=(404, 409),
    summary="Issue one coupon to each of up to 100,000 customers, or to the members of an audience "
    "segment (segment_id), asynchronously.",
)
def create_issue_job(req: ApiRequest) -> IssueJobAccepted:
    return bulk.create_issue_job(req.shop, req.path["template_id"], req.body)


@api.route(
    "/issue-jobs/{job_id}",
    roles=[Role.merchant],
    response=IssueJobOut,
    errors_=(404,),
    summary="A bulk issue job's progress: issued + skipped + failed ends at total.",
)
def get_issue_job(req: ApiRequest) -> IssueJobOut:
    return bulk.get_issue_job(req.shop, req.path["job_id"])


@api.route(
    "/templates/{template_id}/invalidations",
    methods=["POST"],
    roles=[Role.merchant],
    body=InvalidationIn,
    response=InvalidationOut,
    status=202,
    errors_=(404,),
    summary="Void every unused coupon of the template (作废), as a job: locked ones when their lock is "
    "released, redeemed ones untouched; with return_stock their units go back into the stock.",
)
def create_invalidation(req: ApiRequest) -> InvalidationOut:
    return invalidations.start(req.shop, req.path["template_id"], req.body, req.sub)


@api.route(
    "/invalidations/{invalidation_id}",
    roles=[Role.merchant],
    response=InvalidationOut,
    errors_=(404,),
    summary="An invalidation's progress: voided, voided on release, stock returned.",
)
def get_invalidation(req: ApiRequest) -> InvalidationOut:
    return invalidations.get(req.shop, req.path["invalidation_id"])


# Share links, one-time links and exchange codes, gifts: registered after the routes above.
routes_sharing.register(api)


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "coupons")


@app.lambda_function(name="bulk_queue_consumer")
def bulk_queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The bulk queue's consumer (its own event source, smaller concurrency). A chunk on its
    last receive is first shown on its job as dead-lettered, so a job whose chunk ends in the
    DLQ still finishes; if the chunk succeeds after all, its real outcome replaces that."""
    consumer.note_last_attempts(event)
    return events.consume(event, context, BULK_HANDLERS, "coupons")
