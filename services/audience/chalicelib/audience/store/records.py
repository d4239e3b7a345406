"""Stored records of the audience tables and their item formats.

A profile item keeps the state of each order of the customer in the map ``o`` (order id ->
compact state; see ``_ORDER_FIELDS``), the customer's tags (a string set ``tags``, absent when
empty) and a version ``ver`` every write of the item raises (optimistic concurrency). The
derived profile (counts, totals, touches) is computed from ``o`` on read (``domain.profiles``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.audience.domain.counters import FIELDS, Cohort
from chalicelib.audience.domain.profiles import OrderState, Profile, derive

# stored name -> OrderState field
_ORDER_FIELDS = {
    "t": "paid_at",
    "a": "paid_amount",
    "rc": "referral_code",
    "dc": "distributor_code",
    "ct": "coupon_template_id",
    "sl": "share_link_id",
    "g": "grant_id",
}


def order_to_item(order: OrderState) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for stored, name in _ORDER_FIELDS.items():
        value = getattr(order, name)
        if value is not None:
            item[stored] = value
    if order.cancelled:
        item["x"] = True
    if order.refunds:
        item["r"] = dict(order.refunds)
    if order.discount_amount:
        item["d"] = order.discount_amount
    return item


def order_from_item(order_id: str, item: dict[str, Any]) -> OrderState:
    values = {name: item.get(stored) for stored, name in _ORDER_FIELDS.items()}
    return OrderState(
        order_id=order_id,
        cancelled=bool(item.get("x", False)),
        refunds={str(k): int(v) for k, v in (item.get("r") or {}).items()},
        discount_amount=int(item.get("d", 0)),
        **values,
    )


@dataclass(frozen=True)
class StoredProfile:
    customer_id: str
    orders: dict[str, OrderState] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    version: int = 0  # 0: no item yet

    @property
    def profile(self) -> Profile:
        return derive(self.customer_id, self.orders, self.tags)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredProfile:
        orders = {str(k): order_from_item(str(k), v) for k, v in (item.get("o") or {}).items()}
        return cls(
            customer_id=item["customer_id"],
            orders=orders,
            tags=frozenset(item.get("tags") or ()),
            version=int(item.get("ver", 0)),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "customer_id": self.customer_id,
            "ver": self.version,
            "o": {order_id: order_to_item(o) for order_id, o in self.orders.items()},
        }
        if self.tags:
            item["tags"] = set(self.tags)
        return item


def cohort_from_item(item: dict[str, Any]) -> tuple[Cohort, dict[str, int]]:
    found = Cohort(
        day=item["day"],
        channel=item.get("ch", ""),
        referral_code=item.get("rc", ""),
        distributor_code=item.get("dc", ""),
        coupon_template_id=item.get("tpl", ""),
    )
    return found, {f: int(item.get(f, 0)) for f in FIELDS}
