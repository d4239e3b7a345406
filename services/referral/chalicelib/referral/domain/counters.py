"""The funnel counters of a code and the report row made of them, pure.

Rates are basis points, rounded down (floor) as all money and rates are
(``campaign_shared.money``): ``repurchase_rate_bps = floor(repeat_customers * 10000 / first_orders)``,
0 when there are no first orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from chalicelib.referral.domain.codes import CodeOwner

REFUSALS = ("self_referral", "already_referred", "not_new_customer", "mutual_referral")
BPS = 10_000


@dataclass(frozen=True)
class Counters:
    """The funnel counters of one code that change with signups and orders (visits apart)."""

    signups: int = 0
    first_orders: int = 0
    repeat_customers: int = 0
    gmv_amount: int = 0
    conversions: int = 0
    refused_self_referral: int = 0
    refused_already_referred: int = 0
    refused_not_new_customer: int = 0  # also counts signups voided by an earlier order
    refused_mutual_referral: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __neg__(self) -> Counters:
        return Counters(**{f.name: -getattr(self, f.name) for f in fields(self)})

    def __sub__(self, other: Counters) -> Counters:
        return self + (-other)

    def nonzero(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Counters:
        data = data or {}
        return cls(**{f.name: int(data.get(f.name, 0) or 0) for f in fields(cls)})


def repurchase_rate_bps(repeat_customers: int, first_orders: int) -> int:
    """``floor(repeat_customers * 10000 / first_orders)``; 0 when there are no first orders."""
    if first_orders <= 0:
        return 0
    return max(0, repeat_customers) * BPS // first_orders


@dataclass(frozen=True)
class VisitTally:
    """The visits of one code counted in one shard (``VISIT_SHARDS`` of them per code)."""

    visits: int = 0
    unique_visitors: int = 0

    @classmethod
    def of(cls, shard: VisitTally | Mapping[str, Any]) -> VisitTally:
        if isinstance(shard, VisitTally):
            return shard
        return cls(int(shard.get("visits", 0) or 0), int(shard.get("unique_visitors", 0) or 0))


def report_row(
    owner: CodeOwner, counters: Counters, visit_shards: Iterable[VisitTally | Mapping[str, Any]]
) -> dict[str, Any]:
    """One report item: visits summed over the shards, the rate from the counters."""
    visits = unique = 0
    for shard in map(VisitTally.of, visit_shards):
        visits += shard.visits
        unique += shard.unique_visitors
    return {
        "code": owner.code,
        "kind": owner.kind,
        "channel_id": owner.channel_id,
        "channel_name": owner.name if owner.kind == "channel" else None,
        "customer_id": owner.customer_id,
        "visits": visits,
        "unique_visitors": unique,
        "signups": counters.signups,
        "first_orders": counters.first_orders,
        "repeat_customers": counters.repeat_customers,
        "gmv_amount": counters.gmv_amount,
        "repurchase_rate_bps": repurchase_rate_bps(counters.repeat_customers, counters.first_orders),
        "conversions": counters.conversions,
        "refusals": {reason: getattr(counters, f"refused_{reason}") for reason in REFUSALS},
    }
