"""Stored records of the audience tables and their item formats.

A profile item keeps the state of each order of the customer in the map ``o`` (order id ->
compact state; see ``_ORDER_FIELDS``), the customer's tags (a string set ``tags``, absent
when empty), the automation enrollments (``en``: ``rule|cycle`` -> arm, times, status) and a
version ``ver`` every write of the item raises (optimistic concurrency). The derived profile
(counts, totals, touches) is computed from ``o`` on read (``domain.profiles``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.audience.domain.automations import Enrollment
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


def enrollment_to_item(e: Enrollment) -> dict[str, Any]:
    item: dict[str, Any] = {
        "r": e.rule_id,
        "c": e.cycle,
        "a": e.arm,
        "at": e.enrolled_at,
        "due": e.due_at,
        "s": e.status,
    }
    if e.coupon_id:
        item["cp"] = e.coupon_id
    if e.reason:
        item["why"] = e.reason
    return item


def enrollment_from_item(item: dict[str, Any]) -> Enrollment:
    return Enrollment(
        rule_id=item["r"],
        cycle=item["c"],
        arm=item["a"],
        enrolled_at=int(item["at"]),
        due_at=int(item["due"]),
        status=item["s"],
        coupon_id=item.get("cp"),
        reason=item.get("why"),
    )


@dataclass(frozen=True)
class StoredProfile:
    customer_id: str
    orders: dict[str, OrderState] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    version: int = 0  # 0: no item yet
    # Automation enrollments by ``rule|cycle`` (``domain.automations``).
    enrollments: dict[str, Enrollment] = field(default_factory=dict)

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
            enrollments={str(k): enrollment_from_item(v) for k, v in (item.get("en") or {}).items()},
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "customer_id": self.customer_id,
            "ver": self.version,
            "o": {order_id: order_to_item(o) for order_id, o in self.orders.items()},
        }
        if self.tags:
            item["tags"] = set(self.tags)
        if self.enrollments:
            item["en"] = {k: enrollment_to_item(e) for k, e in self.enrollments.items()}
        return item


def lift_from_item(item: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """(arm, sums) of a lift counter item."""
    from chalicelib.audience.domain.automations import LIFT_FIELDS

    return item["arm"], {f: int(item.get(f, 0)) for f in LIFT_FIELDS}


def cohort_from_item(item: dict[str, Any]) -> tuple[Cohort, dict[str, int]]:
    found = Cohort(
        day=item["day"],
        channel=item.get("ch", ""),
        referral_code=item.get("rc", ""),
        distributor_code=item.get("dc", ""),
        coupon_template_id=item.get("tpl", ""),
    )
    return found, {f: int(item.get(f, 0)) for f in FIELDS}
