"""Coupons, in the customer's partition (``cust#<shop>#<customer>`` / ``coupon#<id>``): the
wallet is one Query. ``conflicts``: paid orders that named a coupon but did not redeem it,
with ``conflict_events`` (their event ids, so each is recorded once)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from campaign_shared.storage import codec, paging
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import (
    COUPON_PREFIX,
    coupon_key,
    locked_pk,
    table,
    unused_pk,
    wallet_pk,
)
from chalicelib.coupons.store.ports import Conflicted
from chalicelib.coupons.store.records import REFUND_PREFIX, Coupon

STATUS = {"#st": "status"}
UNUSED = ("available", "locked", "gifting")  # a coupon that can still be used (gsi2)
# The index keys a coupon leaves with once it cannot be used any more (redeemed, given,
# revoked, invalidated); its lock's key goes with the lock.
NOT_UNUSED = "gsi2pk, gsi3pk"


def index_keys(shop: str, coupon: Coupon) -> dict[str, str]:
    """The counting indexes' keys of a coupon as it is (``store.keys``): unused coupons that
    expire are listed by expiry, locked ones by the end of their lock."""
    found: dict[str, str] = {}
    if coupon.status in UNUSED and coupon.expires_at:
        found["gsi2pk"] = unused_pk(shop, coupon.template_id, coupon.shard)
    if coupon.status == "locked" and coupon.lock_expires_at:
        found["gsi3pk"] = locked_pk(shop, coupon.template_id, coupon.shard)
    return found


def put_coupon(shop: str, coupon: Coupon) -> bool:
    """Write a coupon unless it exists; False when it did."""
    key = coupon_key(shop, coupon.customer_id, coupon.coupon_id)
    return items.create(key, {**coupon.to_item(), **index_keys(shop, coupon)}).applied


def as_seen(seen: Coupon, values: dict[str, Any]) -> str:
    """A condition: the coupon's status, order and lock time are as ``seen`` (adds its values)."""
    values.update(seen_status=seen.status)
    parts = ["#st = :seen_status"]
    for name, value in (("order_id", seen.order_id), ("locked_at", seen.locked_at)):
        if value is None:
            parts.append(f"attribute_not_exists({name})")
        else:
            values[f"seen_{name}"] = value
            parts.append(f"{name} = :seen_{name}")
    return " AND ".join(parts)


def _found(written_item: dict[str, Any] | None) -> Coupon | None:
    return Coupon.from_item(written_item) if written_item else None


class DynamoCoupons:
    def create(self, shop: str, coupon: Coupon) -> bool:
        return put_coupon(shop, coupon)

    def create_many(self, shop: str, coupons: Sequence[Coupon]) -> None:
        paging.batch_put(
            table(),
            [
                {**c.to_item(), **index_keys(shop, c), **coupon_key(shop, c.customer_id, c.coupon_id)}
                for c in coupons
            ],
        )

    def get(self, shop: str, customer_id: str, coupon_id: str) -> Coupon | None:
        return _found(items.get(coupon_key(shop, customer_id, coupon_id)))

    def existing(self, shop: str, pairs: Sequence[tuple[str, str]]) -> set[str]:
        keys = [coupon_key(shop, c, k) for c, k in pairs]
        return {str(i["coupon_id"]) for i in paging.batch_get(table(), keys)}

    def page(self, shop: str, customer_id: str, page: PageParams) -> tuple[list[Coupon], str | None]:
        found, cursor = paging.query_page(
            table=table(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(pk=wallet_pk(shop, customer_id), prefix=COUPON_PREFIX),
            page=page,
            consistent=True,
        )
        return [Coupon.from_item(i) for i in found], cursor

    def wallet(self, shop: str, customer_id: str) -> list[Coupon]:
        """Every coupon of the customer, oldest first (one Query, page after page)."""
        found = paging.query_all(
            table=table(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(pk=wallet_pk(shop, customer_id), prefix=COUPON_PREFIX),
            consistent=True,
        )
        return [Coupon.from_item(i) for i in found]

    def counts(self, shop: str, template_id: str, shards: int, now_iso: str) -> tuple[int, int]:
        """Two counts of the keys-only indexes, one Query per stock shard each: the locks
        that end after ``now_iso``, and the unused coupons that expired by then."""
        locked = expired = 0
        for n in range(shards):
            locked += paging.query_count(
                table=table(),
                index="gsi3",
                key_condition="gsi3pk = :p AND lock_expires_at > :now",
                expression_values=codec.values(p=locked_pk(shop, template_id, n), now=now_iso),
            )
            expired += paging.query_count(
                table=table(),
                index="gsi2",
                key_condition="gsi2pk = :p AND expires_at <= :now",
                expression_values=codec.values(p=unused_pk(shop, template_id, n), now=now_iso),
            )
        return locked, expired

    def lock(
        self, shop: str, seen: Coupon, order_id: str, now_iso: str, until_iso: str, hold: int | None = None
    ) -> tuple[bool, Coupon | None]:
        values: dict[str, Any] = {"locked": "locked", "order": order_id, "now": now_iso, "until": until_iso}
        values["lpk"] = locked_pk(shop, seen.template_id, seen.shard)
        expression = (
            "SET #st = :locked, order_id = :order, locked_at = :now, lock_expires_at = :until, gsi3pk = :lpk"
        )
        if hold is not None:
            expression += ", budget_hold = :hold"
            values["hold"] = hold
        written = items.update(
            coupon_key(shop, seen.customer_id, seen.coupon_id),
            expression,
            f"attribute_exists(pk) AND {as_seen(seen, values)}"
            " AND (attribute_not_exists(expires_at) OR expires_at > :now)",
            names=STATUS,
            values=values,
            returns="ALL_NEW",
        )
        return written.applied, _found(written.item)

    def release(self, shop: str, customer_id: str, coupon_id: str, order_id: str, status: str) -> bool:
        # released unused (available) or after its validity ended (expired): still counted
        gone = "gsi3pk" if status in (*UNUSED, "expired") else NOT_UNUSED
        return items.update(
            coupon_key(shop, customer_id, coupon_id),
            f"SET #st = :status REMOVE order_id, locked_at, lock_expires_at, budget_hold, {gone}",
            "#st = :locked AND order_id = :order",
            names=STATUS,
            values={"status": status, "locked": "locked", "order": order_id},
        ).applied

    def redeem(
        self,
        shop: str,
        coupon: Coupon,
        order_id: str,
        now_iso: str,
        paid_amount: int,
        discount: int,
        hold: int | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "redeemed": "redeemed",
            "available": "available",
            "locked": "locked",
            "order": order_id,
            "now": now_iso,
            "yes": True,
            "paid": paid_amount,
            "discount": discount,
        }
        held = ", budget_hold = :hold" if hold is not None else ""
        if hold is not None:
            values["hold"] = hold
        allowed = "#st = :available OR (#st = :locked AND order_id = :order)"
        if coupon.status not in ("available", "locked") or (
            coupon.status == "locked" and coupon.order_id != order_id
        ):
            # The rules redeem a coupon locked to another order, or being given, only once that
            # lock or gift lapsed: allowed while it is still exactly as they saw it.
            allowed += f" OR ({as_seen(coupon, values)})"
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "SET #st = :redeemed, order_id = :order, redeemed_at = :now, count_pending = :yes, "
            f"order_paid_amount = :paid, discount_amount = :discount{held} "
            f"REMOVE locked_at, lock_expires_at, expires_at_epoch, {NOT_UNUSED}",
            f"attribute_exists(pk) AND ({allowed})",
            names=STATUS,
            values=values,
        ).applied

    def record_refund(
        self, shop: str, coupon: Coupon, order_id: str, refund_id: str, amount: int
    ) -> tuple[bool, Coupon | None]:
        """Note a refund of the order that redeemed the coupon, once per refund id (stored as
        ``refund:<order>:<refund>``): (True, the coupon after) or (False, as it is)."""
        written = items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "SET #r = :amount",
            "#st = :redeemed AND order_id = :order AND attribute_not_exists(#r)",
            names={**STATUS, "#r": f"{REFUND_PREFIX}{order_id}:{refund_id}"},
            values={"amount": amount, "redeemed": "redeemed", "order": order_id},
            returns="ALL_NEW",
        )
        return written.applied, _found(written.item)

    def give_back(self, shop: str, coupon: Coupon, order_id: str, expires_epoch: int | None) -> bool:
        """redeemed by ``order_id`` -> available again (the order was fully refunded), the
        return still to be counted (``return_pending``)."""
        expression = (
            "SET #st = :available, return_pending = :order, "
            "returned_from = list_append(if_not_exists(returned_from, :none), :o)"
        )
        values: dict[str, Any] = {"available": "available", "redeemed": "redeemed", "order": order_id}
        values.update(none=[], o=[order_id])
        if expires_epoch is not None:
            expression += ", expires_at_epoch = :exp"
            values["exp"] = expires_epoch
        if coupon.expires_at:  # usable again: back in the count of unused coupons
            expression += ", gsi2pk = :upk"
            values["upk"] = unused_pk(shop, coupon.template_id, coupon.shard)
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            expression + " REMOVE order_id, redeemed_at, counted_by",
            # Only a settled redemption comes back (its count is then on the shard to return).
            "#st = :redeemed AND order_id = :order AND attribute_not_exists(count_pending)",
            names=STATUS,
            values=values,
        ).applied

    def settle_return(self, shop: str, coupon: Coupon, order_id: str) -> bool:
        """The return of ``order_id``'s redemption is counted: forget it and its amounts."""
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "REMOVE return_pending, order_paid_amount, discount_amount",
            "return_pending = :order",
            values={"order": order_id},
        ).applied

    def start_gift(
        self, shop: str, seen: Coupon, gift: dict[str, Any], until_iso: str, now_iso: str
    ) -> tuple[bool, Coupon | None]:
        values: dict[str, Any] = {"gifting": "gifting", "gift": gift, "until": until_iso, "now": now_iso}
        written = items.update(
            coupon_key(shop, seen.customer_id, seen.coupon_id),
            "SET #st = :gifting, gift = :gift, gift_expires_at = :until "
            "REMOVE order_id, locked_at, lock_expires_at, gsi3pk",
            f"attribute_exists(pk) AND {as_seen(seen, values)}"
            " AND (attribute_not_exists(expires_at) OR expires_at > :now)",
            names=STATUS,
            values=values,
            returns="ALL_NEW",
        )
        return written.applied, _found(written.item)

    def end_gift(
        self, shop: str, customer_id: str, coupon_id: str, gift_id: str, status: str, gift: dict[str, Any]
    ) -> bool:
        """gifting in ``gift_id`` -> ``status`` (``gifted`` or ``available``), the gift as given."""
        gone = "" if status in UNUSED else ", gsi2pk"
        return items.update(
            coupon_key(shop, customer_id, coupon_id),
            f"SET #st = :status, gift = :gift REMOVE gift_expires_at{gone}",
            "#st = :gifting AND gift.gift_id = :gift_id",
            names=STATUS,
            values={"status": status, "gift": gift, "gifting": "gifting", "gift_id": gift_id},
            mine=lambda old: (
                old.get("status") == status and (old.get("gift") or {}).get("gift_id") == gift_id
            ),
        ).applied

    def settle(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        return items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            "SET counted_by = :attempt REMOVE count_pending",
            "attribute_exists(count_pending)",
            values={"attempt": attempt},
        ).applied

    def record_conflict(
        self, shop: str, coupon: Coupon, entry: dict[str, Any], max_conflicts: int, expire: bool
    ) -> Conflicted:
        seen_order = coupon.order_id
        values: dict[str, Any] = {
            "entry": [entry],
            "empty": [],
            "event": {entry["event_id"]},
            "event_id": entry["event_id"],
            "max": max_conflicts,
            "seen": coupon.status,
        }
        same = "#st = :seen AND " + (
            "order_id = :seen_order" if seen_order else "attribute_not_exists(order_id)"
        )
        if seen_order:
            values["seen_order"] = seen_order
        expression = "SET conflicts = list_append(if_not_exists(conflicts, :empty), :entry)"
        if expire:
            expression += ", #st = :expired REMOVE order_id, locked_at, gsi3pk"
            values["expired"] = "expired"
        written = items.update(
            coupon_key(shop, coupon.customer_id, coupon.coupon_id),
            expression + " ADD conflict_events :event",
            "attribute_exists(pk) AND NOT contains(conflict_events, :event_id) AND "
            f"(attribute_not_exists(conflicts) OR size(conflicts) < :max) AND {same}",
            names=STATUS,
            values=values,
        )
        if written.applied:
            return "recorded"
        old = written.item or {}
        if entry["event_id"] in (old.get("conflict_events") or ()):
            return "duplicate"
        if len(old.get("conflicts") or ()) >= max_conflicts:
            return "full"
        return "changed"

    def revoke(
        self, shop: str, customer_id: str, coupon_id: str, now_iso: str, reason: str
    ) -> tuple[bool, Coupon | None]:
        written = items.update(
            coupon_key(shop, customer_id, coupon_id),
            "SET #st = :revoked, revoked_at = :now, revoke_reason = :reason "
            f"REMOVE order_id, locked_at, lock_expires_at, gift_expires_at, {NOT_UNUSED}",
            "attribute_exists(pk) AND (#st = :available OR #st = :expired"
            # a lock or a gift that has lapsed holds nothing any more (domain.visible_status)
            " OR (#st = :locked AND lock_expires_at <= :now)"
            " OR (#st = :gifting AND gift_expires_at <= :now))",
            names=STATUS,
            values={
                "revoked": "revoked",
                "now": now_iso,
                "reason": reason,
                "available": "available",
                "expired": "expired",
                "locked": "locked",
                "gifting": "gifting",
            },
            returns="ALL_NEW",
        )
        return written.applied, _found(written.item)
