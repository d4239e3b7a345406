"""/events: the storefront's order events, validated and published to the order-events topic."""

from campaign_shared.api import ApiRequest, Reply, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.events import OrderEvent, OrderEventAccepted
from chalicelib.events import domain

api = ServiceApi("events")
app = api.app


@api.route(
    "/orders",
    methods=["POST"],
    roles=[Role.storefront],
    body=OrderEvent,
    response=OrderEventAccepted,
    status=202,
    errors_=(400, 401, 403, 409),
    summary="Accept an order event and publish it to every service; a repeated event_id is harmless.",
)
def post_order_event(req: ApiRequest) -> Reply:
    domain.accept(req.shop, req.body)
    return Reply(OrderEventAccepted(event_id=req.body.event_id), status=202)
