"""What order events write (keys and helpers from ``store``): releasing, redeeming and
counting a redemption on its stock shard, and conflicts recorded on the coupon.

Every write here is a single-item write. A redemption used to be one transaction (coupon and
shard together); moto copies the whole table for each transaction (DESIGN.md), so with
100,000 bulk-issued coupons one redemption took seconds locally and held every other
storage call up. Instead (see ``orders.settle_count``):

- the coupon turns ``redeemed`` with ``count_pending`` (one conditional write decides the
  redemption, whatever the concurrency);
- the shard counts it under a marker ``inflight.redeem:<coupon>`` naming the attempt that
  counted (``count``, conditional on no marker: at most one uncounted-for count at a time);
- the coupon records that attempt as ``counted_by`` and drops ``count_pending``
  (``settle``), then the marker is removed (``clear``). A marker that is not the coupon's
  ``counted_by`` is a surplus count of a late copy and is taken back (``undo``).

The cost is the transaction's (four write units) in four single-item writes.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import aws, dynamo
from chalicelib.coupons.store import coupon_key, shard_key, table, update


def _marker(coupon: dict[str, Any]) -> dict[str, str]:
    return {"#k": f"redeem:{coupon['coupon_id']}"}


def _shard(shop: str, coupon: dict[str, Any]) -> dict[str, Any]:
    return shard_key(shop, coupon["template_id"], int(coupon.get("shard", 0)))


def release_coupon(shop: str, customer_id: str, coupon_id: str, order_id: str, status: str) -> bool:
    """locked to ``order_id`` -> ``status`` (available, or expired); False if it was not."""
    ok, _ = update(
        coupon_key(shop, customer_id, coupon_id),
        "SET #st = :status REMOVE order_id, locked_at",
        "#st = :locked AND order_id = :order",
        names={"#st": "status"},
        values={"status": status, "locked": "locked", "order": order_id},
    )
    return ok


def redeem(shop: str, coupon: dict[str, Any], order_id: str, now_iso: str) -> bool:
    """available, or locked to ``order_id`` -> redeemed by it, its count pending. False when
    the coupon is in neither state any more."""
    ok, _ = update(
        coupon_key(shop, coupon["customer_id"], coupon["coupon_id"]),
        "SET #st = :redeemed, order_id = :order, redeemed_at = :now, count_pending = :yes "
        "REMOVE locked_at, expires_at_epoch",
        "attribute_exists(pk) AND (#st = :available OR (#st = :locked AND order_id = :order))",
        names={"#st": "status"},
        values={
            "redeemed": "redeemed",
            "available": "available",
            "locked": "locked",
            "order": order_id,
            "now": now_iso,
            "yes": True,
        },
    )
    return ok


def redeem_marker(shop: str, coupon: dict[str, Any]) -> str | None:
    """The attempt whose count of this coupon's redemption is on its shard, if any."""
    response = aws.dynamodb().get_item(
        TableName=table(),
        Key=dynamo.to_item(_shard(shop, coupon)),
        ProjectionExpression="inflight.#k",
        ExpressionAttributeNames=_marker(coupon),
        ConsistentRead=True,
    )
    found = dynamo.from_item(response.get("Item")) or {}
    value = (found.get("inflight") or {}).get(f"redeem:{coupon['coupon_id']}")
    return None if value is None else str(value)


def count(shop: str, coupon: dict[str, Any], attempt: str) -> bool:
    """Count the redemption on the shard under ``attempt``; False when a marker is there."""
    ok, _ = update(
        _shard(shop, coupon),
        "ADD redeemed :one SET inflight.#k = :attempt",
        "attribute_not_exists(inflight.#k)",
        names=_marker(coupon),
        values={"one": 1, "attempt": attempt},
    )
    return ok


def settle(shop: str, coupon: dict[str, Any], attempt: str) -> bool:
    """The coupon keeps ``attempt``'s count; False when it was settled already."""
    ok, _ = update(
        coupon_key(shop, coupon["customer_id"], coupon["coupon_id"]),
        "SET counted_by = :attempt REMOVE count_pending",
        "attribute_exists(count_pending)",
        values={"attempt": attempt},
    )
    return ok


def clear(shop: str, coupon: dict[str, Any], attempt: str) -> None:
    """Remove the settled count's marker (nothing if it is gone)."""
    update(
        _shard(shop, coupon),
        "REMOVE inflight.#k",
        "inflight.#k = :attempt",
        names=_marker(coupon),
        values={"attempt": attempt},
    )


def undo(shop: str, coupon: dict[str, Any], attempt: str) -> bool:
    """Take back a surplus count and its marker, once."""
    ok, _ = update(
        _shard(shop, coupon),
        "ADD redeemed :minus REMOVE inflight.#k",
        "inflight.#k = :attempt",
        names=_marker(coupon),
        values={"minus": -1, "attempt": attempt},
    )
    return ok


def record_conflict(
    shop: str, coupon: dict[str, Any], entry: dict[str, Any], max_conflicts: int, expire: bool = False
) -> str:
    """Append ``entry`` to the coupon's ``conflicts`` once per event id, provided the coupon is
    still as it was read (status and order). ``expire``: also release its lock to ``expired``.

    ``"recorded"``, ``"duplicate"`` (this event is recorded already), ``"full"`` (the coupon
    holds ``max_conflicts``) or ``"changed"`` (read it again and decide again)."""
    seen_order = coupon.get("order_id")
    values: dict[str, Any] = {
        "entry": [entry],
        "empty": [],
        "event": {entry["event_id"]},
        "event_id": entry["event_id"],
        "max": max_conflicts,
        "seen": coupon["status"],
    }
    same = "#st = :seen AND " + ("order_id = :seen_order" if seen_order else "attribute_not_exists(order_id)")
    if seen_order:
        values["seen_order"] = seen_order
    expression = "SET conflicts = list_append(if_not_exists(conflicts, :empty), :entry)"
    if expire:
        expression += ", #st = :expired REMOVE order_id, locked_at"
        values["expired"] = "expired"
    ok, old = update(
        coupon_key(shop, coupon["customer_id"], coupon["coupon_id"]),
        expression + " ADD conflict_events :event",
        "attribute_exists(pk) AND NOT contains(conflict_events, :event_id) AND "
        f"(attribute_not_exists(conflicts) OR size(conflicts) < :max) AND {same}",
        names={"#st": "status"},
        values=values,
    )
    if ok:
        return "recorded"
    if entry["event_id"] in (old.get("conflict_events") or ()):
        return "duplicate"
    if len(old.get("conflicts") or ()) >= max_conflicts:
        return "full"
    return "changed"
