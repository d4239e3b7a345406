"""The routes that put coupons where customers talk: share links, one-time claim links and
exchange codes, gifts. ``app.py`` registers them (``register(api)``) after its own; like
every route, each only parses, calls a use case and returns."""

from __future__ import annotations

from chalice import Response

from campaign_shared import qr
from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.qr import QrQuery
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.models import (
    BatchCodePage,
    ClaimLinksIn,
    CodeBatchAccepted,
    CodeBatchOut,
    CouponOut,
    ExchangeCodesIn,
    GiftIn,
    GiftOut,
    PublicClaimLink,
    PublicGift,
    PublicShareLink,
    RedeemCodeIn,
    ShareLinkIn,
    ShareLinkOut,
    ShareLinkPage,
)
from chalicelib.coupons.usecases import codes, gifts, links


def register(api: ServiceApi) -> None:
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
        return qr.response(*links.qr(req.shop, req.path["link_id"], kind, req.query))

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
        response=BatchCodePage,
        errors_=(404, 409),
        summary="The batch's links (token, URL) or codes, with who claimed each; 409 not_ready until done.",
    )
    def list_codes(req: ApiRequest) -> BatchCodePage:
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
