"""/coupons: routes and message handlers only (parse, call a use case, return)."""

from typing import Any

from chalice import Response

from campaign_shared import events
from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.qr import QrQuery
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import consumer
from chalicelib.coupons.models import (
    ClaimLinksIn,
    CodeBatchAccepted,
    CodeBatchOut,
    CodePage,
    CouponOut,
    CouponPage,
    ExchangeCodesIn,
    ForCartIn,
    ForCartOut,
    GiftIn,
    GiftOut,
    IssueJobAccepted,
    IssueJobIn,
    IssueJobOut,
    LockIn,
    LuckyAmountsPage,
    PublicClaimLink,
    PublicGift,
    PublicShareLink,
    RedeemCodeIn,
    ShareLinkIn,
    ShareLinkOut,
    ShareLinkPage,
    TemplateHistoryPage,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatchIn,
    TemplateQuery,
    ValidateIn,
    ValidateOut,
)
from chalicelib.coupons.usecases import bulk, campaign, codes, gifts, links, templates, wallet

api = ServiceApi("coupons")
app = api.app

# Message type -> handler of the parsed message body (idempotent on a business key).
# The main queue: order events and grants (and issue chunks queued there before the bulk
# queue existed, so none is stranded by an upgrade).
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": consumer.on_order_event,
    "order.cancelled": consumer.on_order_event,
    "coupon.grant": consumer.on_grant,
    "coupon.issue_chunk": consumer.on_issue_chunk,
    "coupon.revoke": consumer.on_revoke,
}
# The bulk queue: bulk-issue chunks and the chunks of link and code batches.
BULK_HANDLERS: dict[str, events.RecordHandler] = {
    "coupon.issue_chunk": consumer.on_issue_chunk,
    "coupon.code_batch": consumer.on_code_chunk,
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
    summary="Claim one coupon; 409 sold_out, per_customer_limit_reached or not_active.",
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
    summary="Lock one of the caller's coupons to an order for the template's lock_ttl_seconds; the "
    "same order again is 200, another is 409 not_available while the lock runs.",
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
    summary="Issue one coupon to each of up to 100,000 customers, asynchronously.",
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


# ---- share links ----------------------------------------------------------------------------


@api.route(
    "/templates/{template_id}/share-links",
    methods=["POST"],
    roles=[Role.merchant, Role.customer],
    body=ShareLinkIn,
    response=ShareLinkOut,
    status=201,
    errors_=(404, 409),
    summary="Share a template into a channel (a group, 1:1 chats, Moments): a link id, its URL and QR. "
    "A customer shares as themselves. 409 ended.",
)
def create_share_link(req: ApiRequest) -> ShareLinkOut:
    is_customer = req.principal is not None and req.principal.role == Role.customer
    return links.create(req.shop, req.path["template_id"], req.body, req.sub, is_customer)


@api.route(
    "/templates/{template_id}/share-links",
    roles=[Role.merchant],
    query=PageParams,
    response=ShareLinkPage,
    errors_=(404,),
    summary="The template's share links, oldest first, each with claims, redemptions and redeemed GMV.",
)
def list_share_links(req: ApiRequest) -> ShareLinkPage:
    return links.page(req.shop, req.path["template_id"], req.query)


@api.route(
    "/share-links/{link_id}",
    roles=[Role.merchant],
    response=ShareLinkOut,
    errors_=(404,),
    summary="One share link with what it brought: claims, redemptions, redeemed GMV and discount.",
)
def get_share_link(req: ApiRequest) -> ShareLinkOut:
    return links.get(req.shop, req.path["link_id"])


@api.route(
    "/share-links/{link_id}/claim",
    methods=["POST"],
    roles=[Role.customer],
    response=CouponOut,
    status=201,
    errors_=(404, 409),
    summary="Claim the link's coupon through it (the link is recorded); the claim's 409s.",
)
def claim_through_link(req: ApiRequest) -> CouponOut:
    return links.claim(req.shop, req.path["link_id"], req.sub)


@api.route(
    "/s/{shop}/{link_id}",
    response=PublicShareLink,
    errors_=(404,),
    summary="What a share link's URL resolves to (public): the offer and where to claim it.",
)
def public_share_link(req: ApiRequest) -> PublicShareLink:
    return links.public(req.path["shop"], req.path["link_id"])


def _link_qr(req: ApiRequest, kind: str) -> Response:
    body, content_type = links.qr(req.shop, req.path["link_id"], kind, req.query.scale, req.query.border)
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": content_type, "Cache-Control": "private, max-age=300"},
    )


@api.route(
    "/share-links/{link_id}/qr.svg",
    roles=[Role.merchant, Role.customer],
    query=QrQuery,
    errors_=(400, 404),
    content_type="image/svg+xml",
    summary="A QR code (SVG) of the share link's URL.",
)
def share_link_qr_svg(req: ApiRequest) -> Response:
    return _link_qr(req, "svg")


@api.route(
    "/share-links/{link_id}/qr.png",
    roles=[Role.merchant, Role.customer],
    query=QrQuery,
    errors_=(400, 404),
    content_type="image/png",
    summary="The share link's QR code as PNG (send Accept: image/png).",
)
def share_link_qr_png(req: ApiRequest) -> Response:
    return _link_qr(req, "png")


# ---- one-time claim links and exchange codes -------------------------------------------------


@api.route(
    "/templates/{template_id}/claim-links",
    methods=["POST"],
    roles=[Role.merchant],
    body=ClaimLinksIn,
    response=CodeBatchAccepted,
    status=202,
    errors_=(404, 409),
    summary="Make up to 10,000 one-time claim links (a job); each holds a unit of stock and gives one "
    "coupon to one customer. 409 paused or ended.",
)
def create_claim_links(req: ApiRequest) -> CodeBatchAccepted:
    return codes.create_links(req.shop, req.path["template_id"], req.body, req.sub)


@api.route(
    "/templates/{template_id}/exchange-codes",
    methods=["POST"],
    roles=[Role.merchant],
    body=ExchangeCodesIn,
    response=CodeBatchAccepted,
    status=202,
    errors_=(404, 409),
    summary="Generate up to 10,000 exchange codes (with a check character) or import your own (a job). "
    "409 paused or ended.",
)
def create_exchange_codes(req: ApiRequest) -> CodeBatchAccepted:
    return codes.create_exchange_codes(req.shop, req.path["template_id"], req.body, req.sub)


@api.route(
    "/code-batches/{batch_id}",
    roles=[Role.merchant],
    response=CodeBatchOut,
    errors_=(404,),
    summary="A batch of links or codes: its progress, written and skipped by reason.",
)
def get_code_batch(req: ApiRequest) -> CodeBatchOut:
    return codes.batch_view(req.shop, req.path["batch_id"])


@api.route(
    "/code-batches/{batch_id}/codes",
    roles=[Role.merchant],
    query=PageParams,
    response=CodePage,
    errors_=(404, 409),
    summary="The batch's links (token, URL) or codes, with who claimed each; 409 not_ready until done.",
)
def list_codes(req: ApiRequest) -> CodePage:
    return codes.page_codes(req.shop, req.path["batch_id"], req.query)


@api.route(
    "/code-batches/{batch_id}/codes.csv",
    roles=[Role.merchant],
    errors_=(404, 409),
    content_type="text/csv",
    summary="Every link or code of the batch as CSV (send Accept: text/csv); 409 not_ready until done.",
)
def export_codes(req: ApiRequest) -> Response:
    body = codes.export_csv(req.shop, req.path["batch_id"])
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{req.path["batch_id"]}.csv"',
        },
    )


@api.route(
    "/claim-links/{token}/claim",
    methods=["POST"],
    roles=[Role.customer],
    response=CouponOut,
    status=201,
    errors_=(404, 409),
    summary="Claim a one-time link's coupon: once, by one customer (the same customer again: the same "
    "coupon); 409 already_claimed, paused, not_active, per_customer_limit_reached.",
)
def claim_link(req: ApiRequest) -> CouponOut:
    return codes.claim_link(req.shop, req.path["token"], req.sub)


@api.route(
    "/exchange-codes/redeem",
    methods=["POST"],
    roles=[Role.customer],
    body=RedeemCodeIn,
    response=CouponOut,
    status=201,
    errors_=(404, 409, 429),
    summary="Exchange a code for its coupon (case, spaces and hyphens ignored); 404 for a wrong code, "
    "429 with Retry-After after 5 wrong codes in 15 minutes; the claim's 409s and already_claimed.",
)
def redeem_code(req: ApiRequest) -> CouponOut:
    return codes.redeem_code(req.shop, req.body.code, req.sub)


@api.route(
    "/l/{shop}/{token}",
    response=PublicClaimLink,
    errors_=(404,),
    summary="What a one-time link's URL resolves to (public): the offer, whether it is claimed, where "
    "to claim it.",
)
def public_claim_link(req: ApiRequest) -> PublicClaimLink:
    return codes.public_link(req.path["shop"], req.path["token"])


# ---- gifts ------------------------------------------------------------------------------------


@api.route(
    "/{coupon_id}/gifts",
    methods=["POST"],
    roles=[Role.customer],
    body=GiftIn,
    response=GiftOut,
    status=201,
    errors_=(404, 409),
    summary="Give one of the caller's available coupons to a friend (转赠): a link that expires (24 h by "
    "default); the coupon is held meanwhile. 409 not_giftable, not_available.",
)
def give_coupon(req: ApiRequest) -> GiftOut:
    return gifts.give(req.shop, req.sub, req.path["coupon_id"], req.body)


@api.route(
    "/gifts/{gift_id}",
    roles=[Role.customer],
    response=GiftOut,
    errors_=(404,),
    summary="A gift, for its giver or its receiver.",
)
def get_gift(req: ApiRequest) -> GiftOut:
    return gifts.get(req.shop, req.path["gift_id"], req.sub)


@api.route(
    "/gifts/{gift_id}/accept",
    methods=["POST"],
    roles=[Role.customer],
    response=CouponOut,
    status=201,
    errors_=(404, 409),
    summary="Accept a gift: the coupon moves to the caller, once (the first of concurrent accepts wins). "
    "409 own_gift, gift_taken, gift_cancelled, gift_expired.",
)
def accept_gift(req: ApiRequest) -> CouponOut:
    return gifts.accept(req.shop, req.path["gift_id"], req.sub)


@api.route(
    "/gifts/{gift_id}/cancel",
    methods=["POST"],
    roles=[Role.customer],
    response=GiftOut,
    errors_=(403, 404, 409),
    summary="Cancel an open gift (the giver): the coupon is available again. 409 gift_taken.",
)
def cancel_gift(req: ApiRequest) -> GiftOut:
    return gifts.cancel(req.shop, req.path["gift_id"], req.sub)


@api.route(
    "/g/{shop}/{gift_id}",
    response=PublicGift,
    errors_=(404,),
    summary="What a gift's URL resolves to (public): the offer, whether it is open, where to accept it.",
)
def public_gift(req: ApiRequest) -> PublicGift:
    return gifts.public(req.path["shop"], req.path["gift_id"])


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
