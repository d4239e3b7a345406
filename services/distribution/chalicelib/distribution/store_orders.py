"""The order records of the distribution table (``order#<shop>#<order>`` / ``order``): an
order's accepted facts (``version``ed), the claims and done marks of the entry groups they
imply (``applied``: group -> ``{"s": "claimed", "t": token, "u": until}`` or
``{"s": "done", "at": ...}``), and the settlement index (gsi1: ``settle#<shop>`` by due time
until the settlement is posted). Part of the store layer (see ``store``)."""

from __future__ import annotations

import time
from typing import Any

from campaign_shared import dynamo
from chalicelib.distribution.store import conditional, db, get, key, part, strip, table

BUSINESS_FIELDS = (
    "state",
    "reason",
    "customer_id",
    "currency",
    "code",
    "tier1",
    "tier2",
    "paid_at",
    "settle_due_at",
    "settled_at",
    "lines",
    "refunds",
)
UNPAID_TTL_DAYS = 90
UNATTRIBUTED_TTL_DAYS = 400


def _order_key(shop: str, order_id: str) -> dict[str, Any]:
    return key(f"order#{part(shop)}#{order_id}", "order")


def get_order(shop: str, order_id: str) -> dict[str, Any] | None:
    item = get(_order_key(shop, order_id))
    if item is None:
        return None
    out = strip(item)
    out.setdefault("applied", {})
    out.setdefault("refunds", {})
    out.setdefault("lines", [])
    return out


def save_order(
    order: dict[str, Any], expected_version: int, now_epoch: int, claims: dict[str, dict[str, Any]]
) -> bool:
    """Write an order's facts if its stored version is still ``expected_version`` (0: new),
    claiming the groups the new facts imply in the same write (``claims``: key -> claim).
    Never overwrites other groups' claims or marks, which deliveries set concurrently."""
    names: dict[str, str] = {}
    vals: dict[str, Any] = {"version": order["version"], "shop": order["shop"], "order_id": order["order_id"]}
    sets = ["version = :version", "shop = :shop", "order_id = :order_id"]
    if expected_version == 0:
        sets.append("applied = :applied")
        vals["applied"] = dict(claims)
    else:
        for i, (group, claim) in enumerate(claims.items()):
            names[f"#c{i}"] = group
            sets.append(f"applied.#c{i} = :c{i}")
            vals[f"c{i}"] = claim
    removes = []
    for i, name in enumerate(BUSINESS_FIELDS):
        names[f"#f{i}"] = name
        if order.get(name) is not None:
            sets.append(f"#f{i} = :f{i}")
            vals[f"f{i}"] = order[name]
        else:
            removes.append(f"#f{i}")
    state = order["state"]
    if state == "paid" and not order.get("settled_at"):
        sets += ["gsi1pk = :gpk", "gsi1sk = :gsk"]
        vals.update(gpk=f"settle#{part(order['shop'])}", gsk=f"{order['settle_due_at']}#{order['order_id']}")
    elif state != "paid":
        removes += ["gsi1pk", "gsi1sk"]
    if state == "paid":
        removes.append("expires_at_epoch")
    else:
        days = UNPAID_TTL_DAYS if state == "unpaid" else UNATTRIBUTED_TTL_DAYS
        sets.append("expires_at_epoch = :ttl")
        vals["ttl"] = now_epoch + days * 86400
    if expected_version == 0:
        condition = "attribute_not_exists(pk)"
    else:
        condition = "version = :expected"
        vals["expected"] = expected_version
    if claims:
        # A retry of this very write (its answer was lost) finds its own claim token: it is
        # this call's save, not a rival's, so it succeeds again instead of reading as "busy".
        names["#own"] = next(iter(claims))
        vals["own"] = next(iter(claims.values()))["t"]
        condition = f"({condition}) OR (version = :version AND applied.#own.t = :own)"
    return conditional(
        db().update_item,
        Key=_order_key(order["shop"], order["order_id"]),
        UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=dynamo.values(**vals),
    )


def claim_group(shop: str, order_id: str, group: str, claim: dict[str, Any], now_epoch: int) -> bool:
    """Claim a group of an order for posting: free, or claimed by a delivery whose claim has
    expired. False when it is done or another live delivery holds it."""
    return conditional(
        db().update_item,
        Key=_order_key(shop, order_id),
        UpdateExpression="SET applied.#g = :claim",
        ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(applied.#g) OR "
        "(applied.#g.s = :claimed AND (applied.#g.u < :now OR applied.#g.t = :token)))",
        ExpressionAttributeNames={"#g": group},
        ExpressionAttributeValues=dynamo.values(
            claim=claim, claimed="claimed", now=now_epoch, token=claim["t"]
        ),
    )


def release_group(shop: str, order_id: str, group: str, token: str) -> None:
    """Give a claim back (after a failure), unless it is done or no longer ours. Retried a few
    times: a claim left behind holds the group's redeliveries off until it expires."""
    for attempt in range(4):
        try:
            conditional(
                db().update_item,
                Key=_order_key(shop, order_id),
                UpdateExpression="REMOVE applied.#g",
                ConditionExpression="applied.#g.t = :t AND applied.#g.s = :claimed",
                ExpressionAttributeNames={"#g": group},
                ExpressionAttributeValues=dynamo.values(t=token, claimed="claimed"),
            )
            return
        except Exception:  # best effort: the claim expires anyway
            time.sleep(0.02 * 2**attempt)


def mark_done(
    shop: str,
    order_id: str,
    groups: list[str],
    at: str,
    *,
    projected: int | None = None,
    unindex: bool = False,
) -> None:
    """Mark groups done (their balance change and entries are written); with ``projected``,
    the order version the commission rows reflect; with ``unindex``, leave the settlement
    index (the order is settled and every group is done)."""
    names = {f"#g{i}": group for i, group in enumerate(groups)}
    sets = [f"applied.#g{i} = :done" for i in range(len(groups))]
    vals: dict[str, Any] = {"done": {"s": "done", "at": at}} if groups else {}
    if projected is not None:
        sets.append("projected = :p")
        vals["p"] = projected
    if not sets and not unindex:
        return
    expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE gsi1pk, gsi1sk" if unindex else "")
    params: dict[str, Any] = {
        "TableName": table(),
        "Key": _order_key(shop, order_id),
        "UpdateExpression": expression.strip(),
    }
    if vals:
        params["ExpressionAttributeValues"] = dynamo.values(**vals)
    if names:
        params["ExpressionAttributeNames"] = names
    db().update_item(**params)


def due_orders(shop: str, as_of: str, limit: int) -> list[str]:
    """Ids of paid orders of a shop due at or before ``as_of`` whose settlement is not posted
    yet (oldest first)."""
    response = db().query(
        TableName=table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :k",
        ExpressionAttributeValues=dynamo.values(p=f"settle#{part(shop)}", k=f"{as_of}~"),
        Limit=limit,
    )
    return [(dynamo.from_item(i) or {})["order_id"] for i in response.get("Items", [])]
