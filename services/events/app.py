"""/events: the storefront's order events, validated and published to the order-events topic."""

from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.events import OrderEvent, OrderEventAccepted
from chalicelib.events import usecases
from chalicelib.events.models import WhoAmI

api = ServiceApi("events")
app = api.app


@api.route(
    "/orders",
    methods=["POST"],
    roles=[Role.storefront],
    body=OrderEvent,
    response=OrderEventAccepted,
    status=202,
    errors_=(400, 409),
    summary="Accept an order event and publish it to every service; a repeated event_id is harmless.",
)
def post_order_event(req: ApiRequest) -> Reply:
    usecases.accept(req.shop, req.body)
    return Reply(OrderEventAccepted(event_id=req.body.event_id), status=202)


@api.route(
    "/whoami",
    roles=[Role.merchant, Role.customer, Role.storefront],
    response=WhoAmI,
    summary="The caller's identity as the gateway sees it (token check, no storage).",
)
def whoami(req: ApiRequest) -> WhoAmI:
    assert req.principal is not None
    return WhoAmI(sub=req.principal.sub, shop=req.principal.shop, role=req.principal.role.value)
