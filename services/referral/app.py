"""/referral: routes and event handlers only (parse, authorize, call a use case, answer)."""

from typing import Any

from chalice import Rate, Response

from campaign_shared import events, qr
from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.referral import models
from chalicelib.referral.usecases import codes, funnel, program

api = ServiceApi("referral")
app = api.app


# ---- program -----------------------------------------------------------------------------


@api.route(
    "/program",
    methods=["PUT"],
    roles=[Role.merchant],
    body=models.ProgramIn,
    response=models.ProgramOut,
    errors_=(400,),
    summary="Set the shop's referral program; both coupon templates must exist and the referrer template's "
    "per_customer_limit must cover max_rewards_per_referrer (else 400).",
)
def put_program(req: ApiRequest) -> models.ProgramOut:
    return program.put_program(req.shop, req.body)


@api.route(
    "/program",
    roles=[Role.merchant],
    response=models.ProgramOut,
    errors_=(404,),
    summary="The shop's referral program.",
)
def get_program(req: ApiRequest) -> models.ProgramOut:
    return program.get_program(req.shop)


# ---- codes and channels --------------------------------------------------------------------


@api.route(
    "/codes",
    methods=["POST"],
    roles=[Role.customer],
    response=models.CodeOut,
    status=201,
    summary="The caller's personal referral code and URL; the same customer always gets the same code.",
)
def create_code(req: ApiRequest) -> models.CodeOut:
    return codes.customer_code(req.shop, req.sub)


@api.route(
    "/channels",
    methods=["POST"],
    roles=[Role.merchant],
    body=models.ChannelIn,
    response=models.ChannelOut,
    status=201,
    errors_=(400,),
    summary="Create a channel (a store counter, a poster, an article) with its own code and URL.",
)
def create_channel(req: ApiRequest) -> models.ChannelOut:
    return codes.create_channel(req.shop, req.body)


@api.route(
    "/channels",
    roles=[Role.merchant],
    query=PageParams,
    response=models.ChannelList,
    errors_=(400,),
    summary="The shop's channels.",
)
def list_channels(req: ApiRequest) -> models.ChannelList:
    return codes.list_channels(req.shop, req.query)


@api.route(
    "/channels/{channel_id}",
    roles=[Role.merchant],
    response=models.ChannelOut,
    errors_=(404,),
    summary="One channel.",
)
def get_channel(req: ApiRequest) -> models.ChannelOut:
    return codes.get_channel(req.shop, req.path["channel_id"])


def _qr_response(req: ApiRequest, kind: str) -> Response:
    return qr.response(*codes.channel_qr(req.shop, req.path["channel_id"], kind, req.query))


@api.route(
    "/channels/{channel_id}/qr.svg",
    roles=[Role.merchant],
    query=models.QrQuery,
    errors_=(400, 404),
    content_type="image/svg+xml",
    summary="A scannable QR code (SVG) of the channel's URL.",
)
def channel_qr_svg(req: ApiRequest) -> Response:
    return _qr_response(req, "svg")


@api.route(
    "/channels/{channel_id}/qr.png",
    roles=[Role.merchant],
    query=models.QrQuery,
    errors_=(400, 404),
    content_type="image/png",
    summary="The channel's QR code as PNG (send Accept: image/png).",
)
def channel_qr_png(req: ApiRequest) -> Response:
    return _qr_response(req, "png")


@api.route(
    "/r/{shop}/{code}",
    response=models.PublicCode,
    errors_=(404,),
    summary="Resolve a referral URL (public): the code and whether it is a customer's or a channel's.",
)
def resolve_code(req: ApiRequest) -> models.PublicCode:
    return codes.resolve(req.path["shop"], req.path["code"])


# ---- visits, signups, me, report -------------------------------------------------------------


@api.route(
    "/visits",
    methods=["POST"],
    roles=[Role.storefront],
    body=models.VisitIn,
    response=models.VisitOut,
    status=202,
    errors_=(400, 404),
    summary="Count a visit of a code by a visitor (unique visitors by visitor_id).",
)
def record_visit(req: ApiRequest) -> Reply:
    return Reply(funnel.record_visit(req.shop, req.body), status=202)


@api.route(
    "/signups",
    methods=["POST"],
    roles=[Role.customer],
    body=models.SignupIn,
    response=models.SignupOut,
    status=201,
    errors_=(400, 404, 409),
    summary="Bind the caller (a new customer) to the code's owner; 409 self_referral, already_referred, "
    "not_new_customer.",
)
def signup(req: ApiRequest) -> models.SignupOut:
    return funnel.signup(req.shop, req.sub, req.body)


@api.route(
    "/me",
    roles=[Role.customer],
    response=models.MeOut,
    summary="The caller's code, referred and converted counts, and rewards (issued, pending, failed).",
)
def me(req: ApiRequest) -> models.MeOut:
    return funnel.me(req.shop, req.sub)


@api.route(
    "/report",
    roles=[Role.merchant],
    query=models.ReportQuery,
    response=models.ReportOut,
    errors_=(400, 404),
    summary="The funnel per code and channel: visits, signups, first orders, repeat customers, GMV, "
    "repurchase rate.",
)
def report(req: ApiRequest) -> models.ReportOut:
    return funnel.report(req.shop, req.query)


# ---- messages ------------------------------------------------------------------------------


def _consumer(name: str) -> events.RecordHandler:
    """A handler of the consumer module, imported on first message (routes never need it)."""
    return events.lazy_handler("chalicelib.referral.consumer", name)


# Message type -> handler of the parsed message body (idempotent on a business key).
# ``order.cancelled`` is not handled: a cancelled order was never paid, so it changes no funnel.
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": _consumer("on_order_paid"),
    "order.refunded": _consumer("on_order_refunded"),
    "coupon.grant_result": _consumer("on_grant_result"),
    "coupon.revoke_result": _consumer("on_revoke_result"),
}


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "referral")


@app.schedule(Rate(5, unit=Rate.MINUTES), name="resend_stale_grants")
def resend_stale_grants(event: Any) -> dict[str, int]:
    """Send again reward grants the coupons service has not answered."""
    from chalicelib.referral import consumer

    return consumer.resend_stale_grants()


@app.schedule(Rate(5, unit=Rate.MINUTES), name="release_held_rewards")
def release_held_rewards(event: Any) -> dict[str, int]:
    """Grant the held rewards whose converting order's refund window is over."""
    from chalicelib.referral import consumer

    return consumer.release_held_rewards()
