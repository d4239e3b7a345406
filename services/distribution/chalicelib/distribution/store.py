"""The distribution table. The store layer (this module and ``store_orders``) is the only
code that talks to DynamoDB; key builders and the low-level helpers live here.

One table (``main``), every key carries the shop:

- ``shop#<shop>`` / ``rules`` (gsi1: ``shops``) and ``stats``;
- ``dist#<shop>#<distributor>`` / ``distributor``: profile, balances (``pending``,
  ``available``, ``withdrawn``, ``earned``), ``version``, and the ``journal`` of groups
  applied to the balance and not finished yet (gsi1: ``board#<shop>`` by earned amount,
  the leaderboard);
- ``dist#...`` / ``entry#<at>#<entry_id>``: the append-only ledger;
- ``dist#...`` / ``comm#<paid_at>#<order>#<line>#t<tier>``: commission rows (a projection);
- ``dist#...`` / ``link#<product|*>`` and ``code#<shop>#<code>`` / ``link``: share links;
- ``order#<shop>#<order>`` / ``order``: an order's accepted facts and the claims and
  done marks of its groups (``store_orders``; gsi1: ``settle#<shop>`` by due time until
  its settlement is posted).

No transactions: moto copies whole tables per transaction, and the ledger grows. Atomicity
comes from single-item conditional writes (see ``posting``).
"""

from __future__ import annotations

from typing import Any

from campaign_shared import aws, dynamo
from campaign_shared.resources import service, table_name
from campaign_shared.settings import get_settings


def table() -> str:
    return table_name(get_settings().stage, "distribution", service("distribution").table("main").logical)


def part(value: str) -> str:
    """A key component; ``#`` (the separator) and ``%`` are escaped so parts never run together."""
    return value.replace("%", "%25").replace("#", "%23")


def dist_pk(shop: str, distributor_id: str) -> str:
    return f"dist#{part(shop)}#{part(distributor_id)}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def db() -> Any:
    return aws.dynamodb()


def get(item_key: dict[str, Any], consistent: bool = True) -> dict[str, Any] | None:
    response = db().get_item(TableName=table(), Key=item_key, ConsistentRead=consistent)
    return dynamo.from_item(response.get("Item"))


def conditional(call: Any, **params: Any) -> bool:
    """Run a conditional write; False when its condition failed."""
    try:
        call(TableName=table(), **params)
        return True
    except Exception as exc:
        if dynamo.is_conditional_failure(exc):
            return False
        raise


def strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at_epoch")}


# ---- rules and stats --------------------------------------------------------------------


def get_rules(shop: str) -> dict[str, Any] | None:
    item = get(key(f"shop#{part(shop)}", "rules"))
    return strip(item) if item else None


def put_rules(shop: str, rules: dict[str, Any]) -> None:
    item = {
        "pk": f"shop#{part(shop)}",
        "sk": "rules",
        "gsi1pk": "shops",
        "gsi1sk": shop,
        "shop": shop,
        **rules,
    }
    db().put_item(TableName=table(), Item=dynamo.to_item(item))


def list_shops() -> list[str]:
    """Every shop with rules (the shops whose orders can earn commissions)."""
    shops: list[str] = []
    params: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p",
        "ExpressionAttributeValues": dynamo.values(p="shops"),
    }
    while True:
        response = db().query(**params)
        shops.extend((dynamo.from_item(i) or {})["gsi1sk"] for i in response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return shops
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def bump_stat(shop: str, name: str) -> None:
    db().update_item(
        TableName=table(),
        Key=key(f"shop#{part(shop)}", "stats"),
        UpdateExpression="ADD #n :one",
        ExpressionAttributeNames={"#n": name},
        ExpressionAttributeValues=dynamo.values(one=1),
    )


def get_stats(shop: str) -> dict[str, int]:
    item = get(key(f"shop#{part(shop)}", "stats"), consistent=False)
    return strip(item) if item else {}


# ---- distributors and balances ----------------------------------------------------------------


def get_distributor(shop: str, distributor_id: str) -> dict[str, Any] | None:
    item = get(key(dist_pk(shop, distributor_id), "distributor"))
    return strip(item) if item else None


def create_distributor(shop: str, record: dict[str, Any], rank: str) -> bool:
    """Create a distributor with zero balances; False if it exists."""
    item = {
        "pk": dist_pk(shop, record["distributor_id"]),
        "sk": "distributor",
        "gsi1pk": f"board#{part(shop)}",
        "gsi1sk": rank,
        **record,
    }
    return conditional(
        db().put_item, Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)"
    )


def set_distributor_status(shop: str, distributor_id: str, status: str, at: str) -> dict[str, Any] | None:
    """Set a distributor's status; None when there is no such distributor."""
    try:
        response = db().update_item(
            TableName=table(),
            Key=key(dist_pk(shop, distributor_id), "distributor"),
            UpdateExpression="SET #s = :s, status_changed_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=dynamo.values(s=status, at=at),
            ReturnValues="ALL_NEW",
        )
    except Exception as exc:
        if dynamo.is_conditional_failure(exc):
            return None
        raise
    return strip(dynamo.from_item(response["Attributes"]) or {})


def write_balance(
    shop: str,
    distributor_id: str,
    *,
    version: int,
    balance: dict[str, int],
    rank: str,
    group_id: str,
    journal: dict[str, Any],
    status: str | None = None,
) -> bool:
    """Apply a group to a balance read at ``version``: the new balances and the group in the
    journal, in one write. False when the balance changed since it was read (or, with
    ``status``, when the distributor's status is no longer that one)."""
    sets = [
        "pending = :pending",
        "available = :available",
        "withdrawn = :withdrawn",
        "earned = :earned",
        "gsi1sk = :rank",
        "version = :next",
        "journal.#g = :journal",
    ]
    condition = "version = :version"
    names = {"#g": group_id}
    extra = {}
    if status is not None:
        condition += " AND #st = :status"
        names["#st"] = "status"
        extra["status"] = status
    return conditional(
        db().update_item,
        Key=key(dist_pk(shop, distributor_id), "distributor"),
        UpdateExpression="SET " + ", ".join(sets),
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=dynamo.values(
            rank=rank, next=version + 1, version=version, journal=journal, **balance, **extra
        ),
    )


def finish_group(shop: str, distributor_id: str, group_id: str) -> None:
    """Drop a group from the journal once its entries are written and its cause is marked
    done; a no-op when another delivery already did. Balances do not change."""
    conditional(
        db().update_item,
        Key=key(dist_pk(shop, distributor_id), "distributor"),
        UpdateExpression="REMOVE journal.#g",
        ConditionExpression="attribute_exists(journal.#g)",
        ExpressionAttributeNames={"#g": group_id},
    )


def board_page(shop: str, page: dynamo.PageParams) -> tuple[list[dict[str, Any]], str | None]:
    """Distributors of a shop by earned amount, highest first."""
    items, cursor = dynamo.query_page(
        table=table(),
        index="gsi1",
        key_condition="gsi1pk = :p",
        expression_values=dynamo.values(p=f"board#{part(shop)}"),
        page=page,
        forward=False,
    )
    return [strip(i) for i in items], cursor


# ---- ledger entries and commission rows -------------------------------------------------------


def put_entries(shop: str, distributor_id: str, entries: list[dict[str, Any]]) -> None:
    """Append entries; an entry that exists is left alone (its id is a business key)."""
    pk = dist_pk(shop, distributor_id)
    for entry in entries:
        item = {"pk": pk, "sk": f"entry#{entry['at']}#{entry['entry_id']}", **entry}
        conditional(db().put_item, Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)")


def get_withdrawal(shop: str, distributor_id: str, withdrawal_id: str) -> dict[str, Any] | None:
    item = get(key(dist_pk(shop, distributor_id), f"wd#{withdrawal_id}"))
    return strip(item) if item else None


def put_withdrawal(shop: str, distributor_id: str, receipt: dict[str, Any]) -> None:
    """Record a withdrawal's receipt once (the first one written stays)."""
    item = {"pk": dist_pk(shop, distributor_id), "sk": f"wd#{receipt['withdrawal_id']}", **receipt}
    conditional(db().put_item, Item=dynamo.to_item(item), ConditionExpression="attribute_not_exists(pk)")


def all_entries(shop: str, distributor_id: str) -> list[dict[str, Any]]:
    """Every ledger entry of a distributor (pages of 1,000, for reconciliation)."""
    params: dict[str, Any] = {
        "TableName": table(),
        "Limit": 1000,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": dynamo.values(pk=dist_pk(shop, distributor_id), prefix="entry#"),
        "ConsistentRead": True,
    }
    out: list[dict[str, Any]] = []
    while True:
        response = db().query(**params)
        out.extend(strip(dynamo.from_item(i) or {}) for i in response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return out
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def entries_page(
    shop: str, distributor_id: str, page: dynamo.PageParams, kind: str | None, newest_first: bool = True
) -> tuple[list[dict[str, Any]], str | None]:
    items, cursor = dynamo.query_page(
        table=table(),
        key_condition="pk = :pk AND begins_with(sk, :prefix)",
        expression_values=dynamo.values(
            pk=dist_pk(shop, distributor_id), prefix="entry#", **({"kind": kind} if kind else {})
        ),
        filter_expression="kind = :kind" if kind else None,
        page=page,
        forward=not newest_first,
        consistent=True,
    )
    return [strip(i) for i in items], cursor


def put_rows(shop: str, rows: list[dict[str, Any]], version: int) -> None:
    """Write commission rows as of an order version; an older version never overwrites a newer."""
    for row in rows:
        sk = f"comm#{row['created_at']}#{row['order_id']}#{row['line_id']}#t{row['tier']}"
        item = {"pk": dist_pk(shop, row["distributor_id"]), "sk": sk, "order_version": version, **row}
        conditional(
            db().put_item,
            Item=dynamo.to_item(item),
            ConditionExpression="attribute_not_exists(pk) OR order_version < :v",
            ExpressionAttributeValues=dynamo.values(v=version),
        )


def rows_page(
    shop: str, distributor_id: str, page: dynamo.PageParams, status: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    items, cursor = dynamo.query_page(
        table=table(),
        key_condition="pk = :pk AND begins_with(sk, :prefix)",
        expression_values=dynamo.values(
            pk=dist_pk(shop, distributor_id), prefix="comm#", **({"status": status} if status else {})
        ),
        filter_expression="#st = :status" if status else None,
        expression_names={"#st": "status"} if status else None,
        page=page,
        forward=False,
    )
    return [strip(i) for i in items], cursor


# ---- links --------------------------------------------------------------------------------------


_LINKS: dict[tuple[str, str, str], dict[str, Any]] = {}
_LINK_CACHE_SIZE = 10_000


def get_link(shop: str, code: str) -> dict[str, Any] | None:
    """The link of a code. Links never change once made, so found ones are cached."""
    cache_key = (table(), shop, code)
    found = _LINKS.get(cache_key)
    if found is None:
        item = get(key(f"code#{part(shop)}#{code}", "link"), consistent=False)
        if item is None:
            return None
        found = strip(item)
        if len(_LINKS) >= _LINK_CACHE_SIZE:
            _LINKS.clear()
        _LINKS[cache_key] = found
    return dict(found)


def get_owned_link(shop: str, distributor_id: str, product_id: str | None) -> dict[str, Any] | None:
    item = get(key(dist_pk(shop, distributor_id), f"link#{product_id or '*'}"))
    return strip(item) if item else None


def create_link(shop: str, link: dict[str, Any]) -> bool:
    """Reserve a code (False if taken), then record it as the owner's link for the product;
    returns False too when the owner got a link for that product meanwhile.

    A write whose answer was lost and which was retried meets its own item: an item equal to
    the one written is this call's own, never "taken" (before, the owner's retried record was
    taken for a rival, its code deleted, and the link handed out pointed nowhere)."""
    code_key = key(f"code#{part(shop)}#{link['code']}", "link")
    if not _put_mine(code_key, link):
        return False
    owned_key = key(dist_pk(shop, link["distributor_id"]), f"link#{link.get('product_id') or '*'}")
    if _put_mine(owned_key, link):
        return True
    db().delete_item(TableName=table(), Key=code_key)
    return False


def _put_mine(item_key: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Create the item unless it exists; True also when the existing item is this very one."""
    item = {**dynamo.to_item(attributes), **item_key}
    if conditional(db().put_item, Item=item, ConditionExpression="attribute_not_exists(pk)"):
        return True
    found = get(item_key)
    return found is not None and strip(found) == {k: v for k, v in attributes.items() if v is not None}
