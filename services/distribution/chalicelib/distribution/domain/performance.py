"""A distributor's performance over a period, pure, from their ledger entries.

- **GMV and orders** are tier-1: the ``paid_amount`` of the lines that earned the distributor
  a tier-1 accrual dated in the period (an accrual is dated when its order was paid), and the
  distinct orders of those lines. Refunds do not reduce GMV (it is what was sold); they
  reduce the commission.
- **Commission** is net and covers both tiers: the ``earned`` deltas of the entries dated in
  the period (accruals, less reversals and clawbacks; settlements and withdrawals move no
  earnings).
- **Customers** are the buyers of those tier-1 orders. A customer is **new** when their first
  tier-1 order with this distributor is in the period, **repeat** when they had one before
  the period. Each customer of the period is one or the other (``new + repeat = customers``);
  a customer whose first and second orders both fall in the period is new. Accruals written
  before entries carried ``customer_id`` count in GMV and orders but not in customers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.distribution.domain.values import Entry


@dataclass(frozen=True)
class Figures:
    gmv_amount: int = 0
    orders: int = 0
    new_customers: int = 0
    repeat_customers: int = 0
    commission_amount: int = 0

    @property
    def customers(self) -> int:
        return self.new_customers + self.repeat_customers


def is_sale(entry: Entry) -> bool:
    """A tier-1 accrual: a line the distributor sold."""
    return entry.kind == "accrual" and entry.tier == 1


def figures(entries: Iterable[Entry], start: str, end: str) -> Figures:
    """The figures of ``[start, end)`` (RFC 3339 times). ``entries`` may include earlier ones
    (they only tell which customers are repeat ones); later ones are ignored."""
    first: dict[str, str] = {}
    gmv = commission = 0
    orders: set[str] = set()
    buyers: set[str] = set()
    for entry in entries:
        if entry.at >= end:
            continue
        sale = is_sale(entry)
        if sale and entry.customer_id is not None:
            seen = first.get(entry.customer_id)
            if seen is None or entry.at < seen:
                first[entry.customer_id] = entry.at
        if entry.at < start:
            continue
        commission += entry.earned
        if sale:
            gmv += entry.paid_amount or 0
            if entry.order_id is not None:
                orders.add(entry.order_id)
            if entry.customer_id is not None:
                buyers.add(entry.customer_id)
    new = sum(1 for buyer in buyers if first[buyer] >= start)
    return Figures(
        gmv_amount=gmv,
        orders=len(orders),
        new_customers=new,
        repeat_customers=len(buyers) - new,
        commission_amount=commission,
    )
