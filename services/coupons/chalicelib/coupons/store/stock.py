"""Stock shards: ``taken`` of ``cap`` units, ``redeemed``, ``inflight`` markers, ``halted``.

- **Blocks** (``take_block``): a claim, a grant or a bulk chunk (operation ``op``) takes
  units and records them as ``inflight.<op>:s`` (first offset) and ``inflight.<op>:c``
  (count) in the same write, so a retried operation gets its block back instead of taking
  another; ``finish_block`` forgets it once its coupons are written.
- **Redemption counts** (``usecases.orders.settle_count``): ``redeemed`` is counted under a
  marker ``inflight.redeem:<coupon>`` naming the attempt that counted; the coupon then
  records that attempt (``counted_by``) and the marker is cleared; a marker that is not the
  coupon's ``counted_by`` is a late copy's surplus count and is undone. Four single-item
  writes instead of a transaction (moto copies the whole table for each, DESIGN.md).
- **Totals.** A redemption's count also adds the coupon's discount and its order's GMV
  (``discount_total``, ``gmv_total``); a redemption given back by a full refund is counted
  in ``returned`` (and its amounts) under a ``return:<coupon>:<order>`` marker.
- **Halts** (``halt``): a paused or ended template is marked on every shard, and a block is
  taken only from a shard that is not halted, in the same write: a pause is exact at once
  in every process, whatever their caches hold. Each mark carries the template version
  that set it, and an older version never overwrites a newer one.
- **Added stock** (``add_cap``): ``ADD cap`` once per edit id (``stock_adds``). A unit is
  taken while ``taken < cap`` as stored, so stock added during a grab is issued exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from campaign_shared.storage import paging
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import Key, shard_key, table
from chalicelib.coupons.store.records import Coupon, Refused, Shard


def _shard_of(shop: str, coupon: Coupon) -> Key:
    return shard_key(shop, coupon.template_id, coupon.shard)


def _amounts(coupon: Coupon, sign: int) -> dict[str, int]:
    """The discount and the order's GMV a redemption adds to the shard's totals (``sign``)."""
    return {"d": sign * (coupon.discount_amount or 0), "g": sign * (coupon.order_paid_amount or 0)}


def _marker(coupon: Coupon) -> dict[str, str]:
    return {"#k": f"redeem:{coupon.coupon_id}"}


class DynamoStock:
    def shards(self, shop: str, template_id: str, count: int) -> list[Shard]:
        keys = [shard_key(shop, template_id, n) for n in range(count)]
        by_pk = {item["pk"]: item for item in paging.batch_get(table(), keys)}
        return [Shard.from_item(by_pk[k["pk"]]) if k["pk"] in by_pk else Shard() for k in keys]

    def shards_of(self, shop: str, templates: Sequence[tuple[str, int]]) -> dict[str, list[Shard]]:
        keys = [shard_key(shop, tid, n) for tid, count in templates for n in range(count)]
        by_pk = {item["pk"]: item for item in paging.batch_get(table(), keys)} if keys else {}
        result: dict[str, list[Shard]] = {}
        for tid, count in templates:
            pks = [shard_key(shop, tid, n)["pk"] for n in range(count)]
            result[tid] = [Shard.from_item(by_pk[pk]) if pk in by_pk else Shard() for pk in pks]
        return result

    def take_block(
        self, shop: str, template_id: str, shard: int, cap: int, want: int, op: str
    ) -> tuple[int, int] | Refused:
        # One unit: while ``taken < cap`` as stored. A block: only while the cap is still the
        # one the caller sized it by (a refusal tells the stored cap; the caller asks again).
        room = "taken < cap" if want == 1 else "cap = :cap AND taken <= :most"
        values: dict[str, int] = {"k": want} if want == 1 else {"k": want, "cap": cap, "most": cap - want}
        written = items.update(
            shard_key(shop, template_id, shard),
            "SET taken = taken + :k, inflight.#s = taken, inflight.#c = :k",
            f"{room} AND attribute_not_exists(inflight.#s) AND attribute_not_exists(halted)",
            names={"#s": f"{op}:s", "#c": f"{op}:c"},
            values=values,
            returns="UPDATED_NEW",  # ``taken``; not the shard's in-flight markers of a whole sale
        )
        item = written.item or {}
        if written.applied:
            return int(item["taken"]) - want, want
        inflight = item.get("inflight") or {}
        if f"{op}:s" in inflight:
            return int(inflight[f"{op}:s"]), int(inflight[f"{op}:c"])
        stored = int(item.get("cap", cap))
        halted = item.get("halted")
        return Refused(
            max(0, stored - int(item.get("taken", stored))), stored, str(halted) if halted else None
        )

    def halt(self, shop: str, template_id: str, shard: int, status: str | None, version: int) -> None:
        """Mark the shard ``paused`` or ``ended`` (``None``: take the mark off) as of template
        ``version``; a mark of a later version stays."""
        newer = "attribute_not_exists(halt_version) OR halt_version < :v"
        if status is None:
            items.update(
                shard_key(shop, template_id, shard),
                "SET halt_version = :v REMOVE halted",
                newer,
                values={"v": version},
            )
        else:
            items.update(
                shard_key(shop, template_id, shard),
                "SET halted = :h, halt_version = :v",
                newer,
                values={"h": status, "v": version},
            )

    def add_cap(self, shop: str, template_id: str, shard: int, units: int, edit_id: str) -> None:
        """``units`` more on the shard, once per ``edit_id``."""
        items.update(
            shard_key(shop, template_id, shard),
            "ADD cap :n, stock_adds :edit",
            "NOT contains(stock_adds, :edit_id)",
            values={"n": units, "edit": {edit_id}, "edit_id": edit_id},
        )

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
            "ADD redeemed :one, discount_total :d, gmv_total :g SET inflight.#k = :attempt",
            "attribute_not_exists(inflight.#k)",
            names=_marker(coupon),
            values={"one": 1, "attempt": attempt, **_amounts(coupon, 1)},
        ).applied

    def count_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        """Count a redemption given back by a full refund, under the marker
        ``return:<coupon>:<order>`` (a retry finds it and counts nothing)."""
        items.update(
            _shard_of(shop, coupon),
            "ADD returned :one, returned_discount :d, returned_gmv :g SET inflight.#k = :yes",
            "attribute_not_exists(inflight.#k)",
            names={"#k": f"return:{coupon.coupon_id}:{order_id}"},
            values={"one": 1, "yes": True, **_amounts(coupon, 1)},
        )

    def clear_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        items.update(
            _shard_of(shop, coupon),
            "REMOVE inflight.#k",
            names={"#k": f"return:{coupon.coupon_id}:{order_id}"},
        )

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
            "ADD redeemed :minus, discount_total :d, gmv_total :g REMOVE inflight.#k",
            "inflight.#k = :attempt",
            names=_marker(coupon),
            values={"minus": -1, "attempt": attempt, **_amounts(coupon, -1)},
        ).applied
