"""/wishlist: routes and event handlers only (parse, authorize, call a use case, return)."""

from typing import Any

from campaign_shared import events
from campaign_shared.api import ApiRequest, ServiceApi
from campaign_shared.auth import Role
from campaign_shared.storage.paging import PageParams
from chalicelib.wishlist import consumer
from chalicelib.wishlist.models import (
    ItemIn,
    ItemOut,
    ListIn,
    ListOut,
    ListPage,
    PublicListOut,
    ReservationIn,
    ReservationOut,
    ShareOut,
)
from chalicelib.wishlist.usecases import lists, reservations, sharing

api = ServiceApi("wishlist")
app = api.app

CUSTOMER = [Role.customer]

# ---- the owner's lists ---------------------------------------------------------------------


@api.route(
    "/lists", methods=["POST"], roles=CUSTOMER, body=ListIn, response=ListOut, status=201, errors_=(409,)
)
def create_list(req: ApiRequest) -> ListOut:
    """Create a wishlist (at most 20 per customer: 409 list_limit_reached)."""
    return lists.create_list(req.shop, req.sub, req.body)


@api.route("/lists", methods=["GET"], roles=CUSTOMER, query=PageParams, response=ListPage)
def list_lists(req: ApiRequest) -> ListPage:
    """The caller's own wishlists, newest first."""
    return lists.owner_lists(req.shop, req.sub, req.query)


@api.route("/lists/{list_id}", methods=["GET"], roles=CUSTOMER, response=ListOut, errors_=(404,))
def get_list(req: ApiRequest) -> ListOut:
    """The owner's view of a list with its items (buyers hidden when the list is a surprise)."""
    return lists.owner_view(req.shop, req.sub, req.path["list_id"])


@api.route("/lists/{list_id}", methods=["DELETE"], roles=CUSTOMER, status=204, errors_=(404,))
def delete_list(req: ApiRequest) -> None:
    """Delete a list, its items and its share link."""
    lists.delete_list(req.shop, req.sub, req.path["list_id"])


@api.route(
    "/lists/{list_id}/items",
    methods=["POST"],
    roles=CUSTOMER,
    body=ItemIn,
    response=ItemOut,
    status=201,
    errors_=(404, 409),
)
def add_item(req: ApiRequest) -> ItemOut:
    """Add an item (at most 100 per list: 409 item_limit_reached)."""
    return lists.add_item(req.shop, req.sub, req.path["list_id"], req.body)


@api.route("/lists/{list_id}/items/{item_id}", methods=["DELETE"], roles=CUSTOMER, status=204, errors_=(404,))
def delete_item(req: ApiRequest) -> None:
    """Remove an item from the list."""
    lists.delete_item(req.shop, req.sub, req.path["list_id"], req.path["item_id"])


@api.route(
    "/lists/{list_id}/share", methods=["POST"], roles=CUSTOMER, response=ShareOut, status=201, errors_=(404,)
)
def share_list(req: ApiRequest) -> ShareOut:
    """Share the list: its share token and URL (the current one if it is already shared)."""
    return sharing.share(req.shop, req.sub, req.path["list_id"])


@api.route("/lists/{list_id}/share", methods=["DELETE"], roles=CUSTOMER, status=204, errors_=(404,))
def revoke_share(req: ApiRequest) -> None:
    """Revoke the share link: the old token is 404 from now on."""
    sharing.revoke(req.shop, req.sub, req.path["list_id"])


# ---- friends, through a share link -----------------------------------------------------------


@api.route("/shared/{share_token}", methods=["GET"], roles=CUSTOMER, response=PublicListOut, errors_=(404,))
def public_view(req: ApiRequest) -> PublicListOut:
    """The public view of a shared list: open quantities, no owner or buyer identity."""
    return sharing.public_view(req.shop, req.path["share_token"])


@api.route(
    "/shared/{share_token}/items/{item_id}/reservations",
    methods=["POST"],
    roles=CUSTOMER,
    body=ReservationIn,
    response=ReservationOut,
    status=201,
    errors_=(404, 409),
)
def reserve(req: ApiRequest) -> ReservationOut:
    """Hold quantity of an item for a while (409 nothing_left; 403 owner_cannot_reserve)."""
    return reservations.reserve(req.shop, req.sub, req.path["share_token"], req.path["item_id"], req.body)


@api.route(
    "/shared/{share_token}/items/{item_id}/reservations/{reservation_id}",
    methods=["DELETE"],
    roles=CUSTOMER,
    status=204,
    errors_=(404,),
)
def release_reservation(req: ApiRequest) -> None:
    """Give one's own reservation back before it expires."""
    reservations.release(
        req.shop, req.sub, req.path["share_token"], req.path["item_id"], req.path["reservation_id"]
    )


# ---- messages ------------------------------------------------------------------------------

# Message type -> handler of the parsed message body (idempotent on a business key).
HANDLERS: dict[str, events.RecordHandler] = {
    "order.paid": consumer.on_order_event,
    "order.refunded": consumer.on_order_event,
    "order.cancelled": consumer.on_order_event,
}


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "wishlist")
