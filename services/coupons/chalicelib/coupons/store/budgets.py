"""Discount budgets (``budget#<shop>#<template>`` / ``budget``): ``used`` and the holds of
running locks, by coupon (``holds.<coupon>`` the amount, ``hold_until.<coupon>`` when the lock
lapses). Every change is one conditional write on the one item, so the cap is exact
whatever the concurrency, and each is keyed by the coupon, so a retry changes nothing twice:

- ``reserve``: ``used`` grows by the amount only while it stays within the budget and the
  coupon holds nothing yet;
- ``release`` / ``reclaim``: the hold goes and ``used`` shrinks by it (``reclaim`` only if the
  hold is still the lapsed one it saw);
- ``settle``: a redemption keeps what it really took: ``used`` moves by the difference and
  the hold goes.
"""

from __future__ import annotations

from typing import Literal

from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import budget_key
from chalicelib.coupons.store.records import Budget

Reserved = Literal["reserved", "held", "exhausted"]


def _names(coupon_id: str) -> dict[str, str]:
    return {"#c": coupon_id}


class DynamoBudgets:
    def create(self, shop: str, template_id: str) -> None:
        items.create(budget_key(shop, template_id), {"used": 0, "holds": {}, "hold_until": {}})

    def get(self, shop: str, template_id: str) -> Budget:
        return Budget.from_item(items.get(budget_key(shop, template_id)) or {})

    def reserve(
        self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str, limit: int
    ) -> tuple[Reserved, int]:
        written = items.update(
            budget_key(shop, template_id),
            "ADD used :amount SET holds.#c = :amount, hold_until.#c = :until",
            "used <= :most AND attribute_not_exists(holds.#c)",
            names=_names(coupon_id),
            values={"amount": amount, "until": until_iso, "most": limit - amount},
        )
        if written.applied:
            return "reserved", amount
        held = ((written.item or {}).get("holds") or {}).get(coupon_id)
        if held is None:
            return "exhausted", 0
        extended = items.update(  # held already (a retry, or a relock): the new lock's time
            budget_key(shop, template_id),
            "SET hold_until.#c = :until",
            "holds.#c = :held",
            names=_names(coupon_id),
            values={"until": until_iso, "held": int(held)},
        )
        return ("held", int(held)) if extended.applied else ("exhausted", 0)

    def release(self, shop: str, template_id: str, coupon_id: str, amount: int) -> None:
        items.update(
            budget_key(shop, template_id),
            "ADD used :minus REMOVE holds.#c, hold_until.#c",
            "holds.#c = :amount",
            names=_names(coupon_id),
            values={"minus": -amount, "amount": amount},
        )

    def reclaim(self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str) -> None:
        items.update(
            budget_key(shop, template_id),
            "ADD used :minus REMOVE holds.#c, hold_until.#c",
            "holds.#c = :amount AND hold_until.#c = :until",
            names=_names(coupon_id),
            values={"minus": -amount, "amount": amount, "until": until_iso},
        )

    def settle(self, shop: str, template_id: str, coupon_id: str, held: int, taken: int) -> bool:
        return items.update(
            budget_key(shop, template_id),
            "ADD used :delta REMOVE holds.#c, hold_until.#c",
            "holds.#c = :held",
            names=_names(coupon_id),
            values={"delta": taken - held, "held": held},
        ).applied
