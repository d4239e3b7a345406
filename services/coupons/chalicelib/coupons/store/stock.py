"""Stock shards: ``taken`` of ``cap`` units, ``redeemed``, and ``inflight`` markers.

- **Blocks** (``take_block``): a claim, a grant or a bulk chunk (operation ``op``) takes
  units and records them as ``inflight.<op>:s`` (first offset) and ``inflight.<op>:c``
  (count) in the same write, so a retried operation gets its block back instead of taking
  another; ``finish_block`` forgets it once its coupons are written.
- **Redemption counts** (``usecases.orders.settle_count``): ``redeemed`` is counted under a
  marker ``inflight.redeem:<coupon>`` naming the attempt that counted; the coupon then
  records that attempt (``counted_by``) and the marker is cleared; a marker that is not the
  coupon's ``counted_by`` is a late copy's surplus count and is undone. Four single-item
  writes instead of a transaction (moto copies the whole table for each, DESIGN.md).
"""

from __future__ import annotations

from campaign_shared.storage import paging
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import Key, shard_key, table
from chalicelib.coupons.store.records import Coupon, Shard


def _shard_of(shop: str, coupon: Coupon) -> Key:
    return shard_key(shop, coupon.template_id, coupon.shard)


def _marker(coupon: Coupon) -> dict[str, str]:
    return {"#k": f"redeem:{coupon.coupon_id}"}


class DynamoStock:
    def shards(self, shop: str, template_id: str, count: int) -> list[Shard]:
        keys = [shard_key(shop, template_id, n) for n in range(count)]
        by_pk = {item["pk"]: item for item in paging.batch_get(table(), keys)}
        return [Shard.from_item(by_pk[k["pk"]]) if k["pk"] in by_pk else Shard() for k in keys]

    def take_block(
        self, shop: str, template_id: str, shard: int, cap: int, want: int, op: str
    ) -> tuple[int, int] | int:
        written = items.update(
            shard_key(shop, template_id, shard),
            "SET taken = taken + :k, inflight.#s = taken, inflight.#c = :k",
            "taken <= :most AND attribute_not_exists(inflight.#s)",
            names={"#s": f"{op}:s", "#c": f"{op}:c"},
            values={"k": want, "most": cap - want},
            returns="UPDATED_NEW",  # ``taken``; not the shard's in-flight markers of a whole sale
        )
        item = written.item or {}
        if written.applied:
            return int(item["taken"]) - want, want
        inflight = item.get("inflight") or {}
        if f"{op}:s" in inflight:
            return int(inflight[f"{op}:s"]), int(inflight[f"{op}:c"])
        return max(0, cap - int(item.get("taken", cap)))

    def finish_block(self, shop: str, template_id: str, shard: int, op: str) -> None:
        items.update(
            shard_key(shop, template_id, shard),
            "REMOVE inflight.#s, inflight.#c",
            names={"#s": f"{op}:s", "#c": f"{op}:c"},
        )

    def redeem_marker(self, shop: str, coupon: Coupon) -> str | None:
        found = items.get(_shard_of(shop, coupon), projection="inflight.#k", names=_marker(coupon)) or {}
        value = (found.get("inflight") or {}).get(f"redeem:{coupon.coupon_id}")
        return None if value is None else str(value)

    def count_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        return items.update(
            _shard_of(shop, coupon),
            "ADD redeemed :one SET inflight.#k = :attempt",
            "attribute_not_exists(inflight.#k)",
            names=_marker(coupon),
            values={"one": 1, "attempt": attempt},
        ).applied

    def clear_redemption(self, shop: str, coupon: Coupon, attempt: str) -> None:
        items.update(
            _shard_of(shop, coupon),
            "REMOVE inflight.#k",
            "inflight.#k = :attempt",
            names=_marker(coupon),
            values={"attempt": attempt},
        )

    def undo_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        return items.update(
            _shard_of(shop, coupon),
            "ADD redeemed :minus REMOVE inflight.#k",
            "inflight.#k = :attempt",
            names=_marker(coupon),
            values={"minus": -1, "attempt": attempt},
        ).applied
