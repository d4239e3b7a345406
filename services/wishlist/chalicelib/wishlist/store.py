"""The wishlist table: the only module that touches DynamoDB.

One table (``main``), every key prefixed with the shop (``#`` escaped in every id), so
nothing crosses shops:

====================================  ======================  =========================================
pk                                    sk                      what
====================================  ======================  =========================================
``L#<shop>#<list_id>``                ``list``                list: owner, title, surprise, item_count,
                                                              share_token; gsi1 = owner's lists
``L#<shop>#<list_id>``                ``item#<item_id>``      item: info, qty, avail, fulfilled_q, holds,
                                                              fills, ver, owner, surprise
``O#<shop>#<owner>``                  ``owner``               list_count (the 20-list cap)
``S#<shop>#<share_token>``            ``share``               list_id, owner (deleted on revoke)
``OR#<shop>#<order_id>``              ``line#<line_id>``      which item a paid line fulfilled (refunds
                                                              that name no item find it here)
``OR#<shop>#<order_id>``              ``refund#<rid>#<line>`` a refund seen before its payment
====================================  ======================  =========================================

A list and its items share a partition, so an owner's view and a friend's view are one
Query. Creating and deleting lists and items are TransactWriteItems (counter + record): not
a hot path. What changes an item's quantities (reservations, order events) is in
``store_items``, with single-item conditional writes only.
"""

from __future__ import annotations

import json
from typing import Any

from campaign_shared import aws, dynamo
from campaign_shared.errors import Conflict, NotFound
from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings

LIST_SK = "list"
OWNER_SK = "owner"
SHARE_SK = "share"


def table() -> str:
    return table_name(get_settings().stage, "wishlist", "main")


# ---- keys ------------------------------------------------------------------------------------


def _part(value: str) -> str:
    """A key component with ``#`` escaped: a shop or a customer id may contain one, and
    ``O#a#b#c`` must not be both (shop a, customer b#c) and (shop a#b, customer c)."""
    return value.replace("%", "%25").replace("#", "%23")


def list_pk(shop: str, list_id: str) -> str:
    return f"L#{_part(shop)}#{_part(list_id)}"


def item_sk(item_id: str) -> str:
    return f"item#{item_id}"


def owner_pk(shop: str, owner: str) -> str:
    return f"O#{_part(shop)}#{_part(owner)}"


def share_pk(shop: str, token: str) -> str:
    return f"S#{_part(shop)}#{_part(token)}"


def order_pk(shop: str, order_id: str) -> str:
    return f"OR#{_part(shop)}#{_part(order_id)}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _entry(kind: str, pk: str, sk: str, condition: str | None = None, **parts: Any) -> dict[str, Any]:
    """One TransactWriteItems entry. ``parts``: ``update``, ``item`` and ``values`` (a dict
    for ``dynamo.values``); ``#o`` always names ``owner``."""
    body: dict[str, Any] = {"TableName": table()}
    if kind == "Put":
        body["Item"] = dynamo.to_item({"pk": pk, "sk": sk, **parts["item"]})
    else:
        body["Key"] = key(pk, sk)
    if "update" in parts:
        body["UpdateExpression"] = parts["update"]
    if condition:
        body["ConditionExpression"] = condition
        if "#o" in condition:
            body["ExpressionAttributeNames"] = {"#o": "owner"}
    if parts.get("values"):
        body["ExpressionAttributeValues"] = dynamo.values(**parts["values"])
    return {kind: body}


def _transact(*entries: dict[str, Any]) -> list[str] | None:
    """Write all or nothing; the per-entry reasons when a condition failed, else None."""
    import uuid

    from botocore.exceptions import ClientError

    try:
        # The token makes a retried call (botocore retries after a dropped connection) a no-op
        # on DynamoDB instead of a second attempt that trips its own conditions.
        aws.dynamodb().transact_write_items(TransactItems=list(entries), ClientRequestToken=str(uuid.uuid4()))
        return None
    except ClientError as exc:
        reasons = dynamo.cancellation_reasons(exc)
        if dynamo.error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
            return reasons
        raise


def _created_by_earlier_attempt(reasons: list[str]) -> bool:
    """A counted create is (count update, put of a fresh server-made id). When the put's
    ``attribute_not_exists`` fails, the record with that fresh id exists already: an earlier
    attempt of this same call committed (an ambiguous failure, then a retry), so it is done."""
    return len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed"


# ---- lists -----------------------------------------------------------------------------------


def create_list(meta: dict[str, Any], cap: int) -> None:
    """Store a new list and count it against its owner's cap; 409 ``list_limit_reached``."""
    shop, owner, list_id = meta["shop"], meta["owner"], meta["list_id"]
    record = {
        **meta,
        "item_count": 0,
        "gsi1pk": owner_pk(shop, owner),
        "gsi1sk": f"{meta['created_at']}#{list_id}",
    }
    failed = _transact(
        _entry(
            "Update",
            owner_pk(shop, owner),
            OWNER_SK,
            "attribute_not_exists(list_count) OR list_count < :cap",
            update="SET list_count = if_not_exists(list_count, :zero) + :one",
            values={"zero": 0, "one": 1, "cap": cap},
        ),
        _entry("Put", list_pk(shop, list_id), LIST_SK, "attribute_not_exists(pk)", item=record),
    )
    if failed is not None and not _created_by_earlier_attempt(failed):
        raise Conflict(f"a customer may keep at most {cap} lists", code="list_limit_reached")


def owner_lists(shop: str, owner: str, page: dynamo.PageParams) -> tuple[list[dict[str, Any]], str | None]:
    return dynamo.query_page(
        table=table(),
        key_condition="gsi1pk = :p",
        expression_values=dynamo.values(p=owner_pk(shop, owner)),
        page=page,
        index="gsi1",
        forward=False,
    )


# An item's fixed description is one JSON attribute (``info``): a read costs per attribute
# value in moto's serializer (DESIGN.md: keep the local stack fast), and nothing ever
# queries or updates these fields on their own.
INFO_FIELDS = ("item_id", "list_id", "product_id", "name", "unit_amount", "added_at")
# What a friend's view reads: no owner, no fills, no buyer.
PUBLIC_FIELDS = ("list_id", "title", "occasion", "share_token", "info", "qty", "fulfilled_q", "holds")
OWNER_FIELDS = (
    *PUBLIC_FIELDS,
    "owner",
    "surprise",
    "created_at",
    "item_count",
    "fills",
)


def unpack(record: dict[str, Any]) -> dict[str, Any]:
    info = record.pop("info", None)
    if info:
        record.update(json.loads(info))
    return record


def _pack(item: dict[str, Any]) -> dict[str, Any]:
    info = {name: item[name] for name in INFO_FIELDS}
    rest = {k: v for k, v in item.items() if k not in info}
    return {**rest, "info": json.dumps(info, separators=(",", ":"), ensure_ascii=False)}


def load_list(
    shop: str, list_id: str, fields: tuple[str, ...] | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The list record and its items (oldest first) in one consistent Query of the partition."""
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": dynamo.values(p=list_pk(shop, list_id)),
        "ConsistentRead": True,
    }
    if fields:
        params["ProjectionExpression"] = ", ".join(f"#p{n}" for n in range(len(fields)))
        params["ExpressionAttributeNames"] = {f"#p{n}": name for n, name in enumerate(fields)}
    meta: dict[str, Any] | None = None
    items: list[dict[str, Any]] = []
    while True:
        response = aws.dynamodb().query(**params)
        for raw in response.get("Items", []):
            record = dynamo.from_item(raw) or {}
            if "title" in record:
                meta = record
            else:
                items.append(unpack(record))
        last = response.get("LastEvaluatedKey")
        if not last:
            return meta, items
        params["ExclusiveStartKey"] = last


def get_meta(shop: str, list_id: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(
        TableName=table(), Key=key(list_pk(shop, list_id), LIST_SK), ConsistentRead=True
    )
    return dynamo.from_item(response.get("Item"))


def delete_list(shop: str, list_id: str, owner: str) -> None:
    """Remove the list and free its place under the cap; its items and share go after."""
    meta = get_meta(shop, list_id)
    if meta is None or meta.get("owner") != owner:
        raise NotFound("no such list")
    failed = _transact(
        _entry("Delete", list_pk(shop, list_id), LIST_SK, "#o = :o", values={"o": owner}),
        _entry(
            "Update",
            owner_pk(shop, owner),
            OWNER_SK,
            "list_count > :zero",
            update="SET list_count = list_count - :one",
            values={"one": 1, "zero": 0},
        ),
    )
    if failed is not None:
        raise NotFound("no such list")
    keys = [key(share_pk(shop, meta["share_token"]), SHARE_SK)] if meta.get("share_token") else []
    _, items = load_list(shop, list_id)
    keys += [key(list_pk(shop, list_id), i["sk"]) for i in items]
    for start in range(0, len(keys), 25):
        pending: dict[str, Any] = {table(): [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
        for _ in range(5):
            pending = aws.dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break


# ---- items -----------------------------------------------------------------------------------


def add_item(shop: str, list_id: str, owner: str, item: dict[str, Any], cap: int) -> None:
    """Store an item and count it against the list's cap (404 not the owner's, 409 full)."""
    record = {**_pack(item), "avail": item["qty"], "fulfilled_q": 0, "holds": {}, "fills": "", "ver": 0}
    failed = _transact(
        _entry(
            "Update",
            list_pk(shop, list_id),
            LIST_SK,
            "#o = :o AND item_count < :cap",
            update="SET item_count = item_count + :one",
            values={"one": 1, "o": owner, "cap": cap},
        ),
        _entry(
            "Put", list_pk(shop, list_id), item_sk(item["item_id"]), "attribute_not_exists(pk)", item=record
        ),
    )
    if failed is not None and not _created_by_earlier_attempt(failed):
        meta = get_meta(shop, list_id)
        if meta is None or meta.get("owner") != owner:
            raise NotFound("no such list")
        raise Conflict(f"a list holds at most {cap} items", code="item_limit_reached")


def delete_item(shop: str, list_id: str, owner: str, item_id: str) -> None:
    failed = _transact(
        _entry("Delete", list_pk(shop, list_id), item_sk(item_id), "#o = :o", values={"o": owner}),
        _entry(
            "Update",
            list_pk(shop, list_id),
            LIST_SK,
            "#o = :o AND item_count > :zero",
            update="SET item_count = item_count - :one",
            values={"one": 1, "zero": 0, "o": owner},
        ),
    )
    if failed is not None:
        raise NotFound("no such item")


# ---- sharing ---------------------------------------------------------------------------------


def share(shop: str, list_id: str, owner: str, token: str, created_at: str) -> None:
    """Make ``token`` the list's one share link (the list must not have one: else 409)."""
    record = {"list_id": list_id, "owner": owner, "created_at": created_at}
    failed = _transact(
        _entry(
            "Update",
            list_pk(shop, list_id),
            LIST_SK,
            "#o = :o AND attribute_not_exists(share_token)",
            update="SET share_token = :t",
            values={"t": token, "o": owner},
        ),
        _entry("Put", share_pk(shop, token), SHARE_SK, "attribute_not_exists(pk)", item=record),
    )
    if failed is not None:
        raise Conflict("the list changed; retry the request", code="conflict")


def revoke(shop: str, list_id: str, owner: str, token: str) -> None:
    """Delete the share record (its token is 404 from this write on) and clear the list's token."""
    failed = _transact(
        _entry(
            "Update",
            list_pk(shop, list_id),
            LIST_SK,
            "#o = :o AND share_token = :t",
            update="REMOVE share_token",
            values={"t": token, "o": owner},
        ),
        _entry("Delete", share_pk(shop, token), SHARE_SK),
    )
    if failed is not None:
        raise Conflict("the list changed; retry the request", code="conflict")


def get_share(shop: str, token: str) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(
        TableName=table(), Key=key(share_pk(shop, token), SHARE_SK), ConsistentRead=True
    )
    return dynamo.from_item(response.get("Item"))
