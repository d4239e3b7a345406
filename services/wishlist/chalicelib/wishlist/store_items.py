"""An item's quantities in the wishlist table: reservations, fulfilments, the order index.

``avail`` on an item is ``qty - fulfilled - every stored hold``. A reservation is one
conditional UpdateItem (``avail >= q``) with no read, so concurrent friends never oversell
and never need a transaction; when it fails, the item returned with the failure tells
whether releasing expired holds would make room. Everything else that changes an item reads
it, applies a pure ``domain`` function and writes it back under ``ver`` (optimistic
locking), retrying on a race. Keys and the table come from ``store``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from campaign_shared import aws, clock, dynamo
from campaign_shared.errors import NotFound, ServiceUnavailable
from chalicelib.wishlist.domain import Fill, Hold, ItemState
from chalicelib.wishlist.store import item_sk, key, list_pk, order_pk, table, unpack

ORDER_RECORD_DAYS = 180
_NAMES = {"#a": "avail", "#h": "holds", "#v": "ver"}


def get_item(shop: str, list_id: str, item_id: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(
        TableName=table(), Key=key(list_pk(shop, list_id), item_sk(item_id)), ConsistentRead=True
    )
    found = dynamo.from_item(response.get("Item"))
    return unpack(found) if found is not None else None


# Every attribute value costs a little on each read (and a lot in moto's serializer), so a
# hold is one string ``"<q>|<exp>|<by>"`` and the fills are one JSON string: only the
# read-modify-write path (events) reads or writes them whole.


def encode_hold(hold: Hold) -> str:
    return f"{hold.q}|{hold.exp}|{hold.by}"


def decode_hold(value: str) -> Hold:
    q, exp, by = value.split("|", 2)
    return Hold(q=int(q), exp=int(exp), by=by)


def holds_of(item: dict[str, Any]) -> dict[str, Hold]:
    return {rid: decode_hold(v) for rid, v in (item.get("holds") or {}).items()}


def encode_fills(fills: dict[str, Fill]) -> str:
    return json.dumps({key: f.to_dict() for key, f in fills.items()}, separators=(",", ":"), sort_keys=True)


def decode_fills(value: Any) -> dict[str, Fill]:
    if not value:
        return {}
    return {key: Fill.from_dict(f) for key, f in json.loads(value).items()}


def item_state(item: dict[str, Any]) -> ItemState:
    return ItemState(
        quantity=int(item["qty"]),
        holds=holds_of(item),
        fills=decode_fills(item.get("fills")),
        version=int(item.get("ver", 0)),
    )


# ---- reservations ----------------------------------------------------------------------------


def try_reserve(
    shop: str, list_id: str, item_id: str, reservation_id: str, hold: Hold, release: dict[str, int]
) -> dict[str, Any] | None:
    """Take ``hold`` (releasing the expired holds in ``release``) in one conditional write.

    None on success; otherwise the item as it was when the condition failed (so the caller
    can decide without another read). Raises NotFound when the item does not exist."""
    from botocore.exceptions import ClientError

    names = {**_NAMES, "#new": reservation_id}
    conditions = ["attribute_exists(pk)", "#a >= :need"]
    removes = []
    for n, rid in enumerate(release):
        names[f"#x{n}"] = rid
        removes.append(f"#h.#x{n}")
        conditions.append(f"attribute_exists(#h.#x{n})")
    freed = sum(release.values())
    update = "SET #a = #a - :need, #h.#new = :hold, #v = #v + :one"
    if removes:
        update += " REMOVE " + ", ".join(removes)
    try:
        aws.dynamodb().update_item(
            TableName=table(),
            Key=key(list_pk(shop, list_id), item_sk(item_id)),
            UpdateExpression=update,
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=dynamo.values(need=hold.q - freed, hold=encode_hold(hold), one=1),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return None
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        item = dynamo.from_item(exc.response.get("Item"))
        if item is None:
            raise NotFound("no such item") from None
        return item


# ---- read-modify-write under the item's version ----------------------------------------------


def save_state(shop: str, list_id: str, item_id: str, before: ItemState, after: ItemState) -> bool:
    """Write ``after`` if the item is still at ``before.version``; False when it moved on."""
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().update_item(
            TableName=table(),
            Key=key(list_pk(shop, list_id), item_sk(item_id)),
            UpdateExpression="SET #h = :holds, #f = :fills, #a = :avail, #fq = :fq, #v = :next",
            ConditionExpression="#v = :ver",
            ExpressionAttributeNames={**_NAMES, "#f": "fills", "#fq": "fulfilled_q"},
            ExpressionAttributeValues=dynamo.values(
                holds={rid: encode_hold(h) for rid, h in after.holds.items()},
                fills=encode_fills(after.fills),
                avail=after.available,
                fq=after.fulfilled,
                next=before.version + 1,
                ver=before.version,
            ),
        )
        return True
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            return False
        raise


def mutate_item(
    shop: str,
    list_id: str,
    item_id: str,
    change: Callable[[ItemState, dict[str, Any]], ItemState | None],
    attempts: int = 8,
) -> tuple[dict[str, Any], ItemState] | None:
    """Apply ``change`` to the item's current state until it lands; None when there is no item.

    Returns the item record and its state after the change (or as read, when ``change``
    returned None). A lost race re-reads and re-applies; after ``attempts`` it is a 503."""
    for attempt in range(attempts):
        item = get_item(shop, list_id, item_id)
        if item is None:
            return None
        before = item_state(item)
        after = change(before, item)
        if after is None:
            return item, before
        if save_state(shop, list_id, item_id, before, after):
            return item, after
        time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
    raise ServiceUnavailable("the item is busy; retry shortly")


# ---- the order index -------------------------------------------------------------------------


def _expiry() -> int:
    return clock.epoch(clock.now()) + ORDER_RECORD_DAYS * 86400


def put_order_line(shop: str, order_id: str, line_id: str, data: dict[str, Any]) -> None:
    record = {"pk": order_pk(shop, order_id), "sk": f"line#{line_id}", **data, "expires_at_epoch": _expiry()}
    aws.dynamodb().put_item(TableName=table(), Item=dynamo.to_item(record))


def get_order_line(shop: str, order_id: str, line_id: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(
        TableName=table(), Key=key(order_pk(shop, order_id), f"line#{line_id}"), ConsistentRead=True
    )
    return dynamo.from_item(response.get("Item"))


def put_pending_refund(shop: str, order_id: str, refund_id: str, line_id: str, amount: int) -> None:
    record = {
        "pk": order_pk(shop, order_id),
        "sk": f"refund#{refund_id}#{line_id}",
        "refund_id": refund_id,
        "line_id": line_id,
        "amount": amount,
        "expires_at_epoch": _expiry(),
    }
    aws.dynamodb().put_item(TableName=table(), Item=dynamo.to_item(record))


def pending_refunds(shop: str, order_id: str) -> dict[str, dict[str, int]]:
    """Refunds recorded for an order, ``{line_id: {refund_id: amount}}``."""
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :r)",
        "ExpressionAttributeValues": dynamo.values(p=order_pk(shop, order_id), r="refund#"),
        "ConsistentRead": True,
    }
    found: dict[str, dict[str, int]] = {}
    while True:
        response = aws.dynamodb().query(**params)
        for raw in response.get("Items", []):
            record = dynamo.from_item(raw) or {}
            found.setdefault(record["line_id"], {})[record["refund_id"]] = int(record["amount"])
        last = response.get("LastEvaluatedKey")
        if not last:
            return found
        params["ExclusiveStartKey"] = last
