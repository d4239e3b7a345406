"""The commission ledger of one order, pure: what an order's recorded facts mean in entries.

An order record holds the facts the consumer has accepted (the payment with its priced
lines and distributors, every refund with its sequence number and whether it came before
or after settlement, the settlement). Ledger entries are a deterministic function of those
facts, grouped per distributor and cause:

- ``acc#t<tier>``: one ``accrual`` entry per line (``pending`` +A);
- ``ref#<refund_id>#t<tier>``: one ``reversal`` (before settlement, ``pending`` -x) or
  ``clawback`` (after settlement, ``available`` -x) entry per refunded line;
- ``set#t<tier>``: one ``settlement`` entry per line (``pending`` -s, ``available`` +s).

Entry ids are business keys (``<order>#<line>#t<tier>#accrual``,
``<order>#<line>#t<tier>#reversal#<refund>``...), so a fact seen twice yields the same
entry, and a refund recorded before its payment yields its reversal once the payment is
recorded. Rounding is described in ``domain``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chalicelib.distribution import domain
from chalicelib.distribution.domain.values import (
    PAID,
    POST,
    PRE,
    UNATTRIBUTED,
    UNPAID,
    Commission,
    Entry,
    Group,
    Order,
    PaidLine,
    PricedLine,
    Refund,
    RefundAnomalies,
)

__all__ = ["PAID", "POST", "PRE", "UNATTRIBUTED", "UNPAID"]


def new_order(shop: str, order_id: str) -> Order:
    return Order(shop=shop, order_id=order_id)


# ---- facts -------------------------------------------------------------------------------


def record_paid(
    order: Order,
    *,
    attribution: domain.Attribution,
    rules: domain.Rules,
    lines: Sequence[PaidLine],
    customer_id: str,
    currency: str,
    code: str,
    paid_at: str,
    settle_due_at: str,
    level: domain.Level | None = None,
) -> Order:
    """The order with its payment recorded (attributed or not). Refunds recorded earlier
    all came before settlement. ``level``: the tier-1 distributor's level in force at
    ``paid_at`` (its rate is on each priced line, its id on the line and the accruals)."""
    base = replace(
        order,
        version=order.version + 1,
        customer_id=customer_id,
        currency=currency,
        code=code,
        paid_at=paid_at,
    )
    priced = domain.priced_lines(rules, lines, attribution.tier2 is not None, level)
    earns = sum(line.tier1_accrual + line.tier2_accrual for line in priced) > 0
    if attribution.reason is not None or not earns:
        return replace(base, state=UNATTRIBUTED, reason=attribution.reason or domain.NO_COMMISSION, lines=())
    return replace(
        base,
        state=PAID,
        reason=None,
        tier1=attribution.tier1,
        tier2=attribution.tier2,
        lines=priced,
        settle_due_at=settle_due_at,
        refunds={rid: replace(refund, phase=PRE) for rid, refund in order.refunds.items()},
    )


def record_refund(order: Order, refund_id: str, at: str, lines: dict[str, int]) -> Order:
    """The order with a refund recorded (amounts per line, summed if a line repeats)."""
    if refund_id in order.refunds:
        raise ValueError(f"refund {refund_id} is already recorded")
    phase = None
    if order.state == PAID:
        phase = POST if order.settled_at else PRE
    seq = 1 + max((r.seq for r in order.refunds.values()), default=0)
    refunds = {**order.refunds, refund_id: Refund(seq=seq, at=at, lines=dict(lines), phase=phase)}
    return replace(order, version=order.version + 1, refunds=refunds)


def is_due(order: Order, as_of: str) -> bool:
    return (
        order.state == PAID
        and not order.settled_at
        and order.settle_due_at is not None
        and order.settle_due_at <= as_of
    )


def settle(order: Order, at: str) -> Order:
    if order.state != PAID or order.settled_at:
        raise ValueError("only a paid, unsettled order can be settled")
    return replace(order, version=order.version + 1, settled_at=at)


def refund_anomalies(order: Order, refund_id: str) -> RefundAnomalies:
    """What a refund asked for that the payment does not cover: unknown lines and the
    amount above ``paid_amount`` (capped). For logs; the ledger ignores both."""
    paid = {line.line_id: line.paid_amount for line in order.lines}
    unknown = []
    capped = 0
    refunded: dict[str, int] = {}
    for rid, refund in _refunds_in_order(order):
        for line_id, amount in refund.lines.items():
            if line_id not in paid:
                if rid == refund_id:
                    unknown.append(line_id)
                continue
            before = refunded.get(line_id, 0)
            refunded[line_id] = before + amount
            if rid == refund_id:
                capped += max(0, before + amount - max(paid[line_id], before))
    return RefundAnomalies(unknown_lines=unknown, capped_amount=capped)


# ---- entries -------------------------------------------------------------------------------


def _refunds_in_order(order: Order) -> list[tuple[str, Refund]]:
    return sorted(order.refunds.items(), key=lambda item: item[1].seq)


def _shares(order: Order, line: PricedLine, tier: int) -> list[tuple[str, Refund, int]]:
    """(refund id, refund, amount taken back from this line's tier) in refund order."""
    accrued, paid = line.accrual(tier), line.paid_amount
    refunded = 0
    taken = 0
    out = []
    for refund_id, refund in _refunds_in_order(order):
        amount = refund.lines.get(line.line_id, 0)
        if amount <= 0:
            continue
        refunded += amount
        total = domain.reversed_part(accrued, refunded, paid)
        out.append((refund_id, refund, total - taken))
        taken = total
    return out


def _entry(
    order: Order,
    line: PricedLine,
    tier: int,
    kind: str,
    at: str,
    amount: int,
    *,
    refund_id: str | None = None,
    pending: int = 0,
    available: int = 0,
    earned: int = 0,
) -> Entry:
    suffix = f"#{refund_id}" if refund_id is not None else ""
    return Entry(
        entry_id=f"{order.order_id}#{line.line_id}#t{tier}#{kind}{suffix}",
        kind=kind,
        order_id=order.order_id,
        line_id=line.line_id,
        tier=tier,
        at=at,
        currency=order.currency or "CNY",
        refund_id=refund_id,
        amount=amount,
        pending=pending,
        available=available,
        earned=earned,
    )


def groups(order: Order) -> list[Group]:
    """Every entry group the order's facts imply, in causal order. Empty groups are left out."""
    if order.state != PAID or order.paid_at is None:
        return []
    paid_at = order.paid_at
    out = []
    for tier in domain.TIERS:
        distributor = order.distributor(tier)
        if not distributor:
            continue
        accruals = []
        by_refund: dict[str, list[Entry]] = {}
        settlements = []
        for line in order.lines:
            accrued = line.accrual(tier)
            if accrued <= 0:
                continue
            accrual = _entry(order, line, tier, "accrual", paid_at, accrued, pending=accrued, earned=accrued)
            accruals.append(
                replace(
                    accrual,
                    paid_amount=line.paid_amount,
                    customer_id=order.customer_id,
                    rate_bps=line.rate_bps(tier),
                    level=line.level if tier == 1 else None,
                )
            )
            before_settlement = 0
            for refund_id, refund, share in _shares(order, line, tier):
                if share <= 0:
                    continue
                if refund.phase == POST:
                    entry = _entry(
                        order,
                        line,
                        tier,
                        "clawback",
                        refund.at,
                        share,
                        refund_id=refund_id,
                        available=-share,
                        earned=-share,
                    )
                else:
                    before_settlement += share
                    entry = _entry(
                        order,
                        line,
                        tier,
                        "reversal",
                        refund.at,
                        share,
                        refund_id=refund_id,
                        pending=-share,
                        earned=-share,
                    )
                by_refund.setdefault(refund_id, []).append(entry)
            remaining = accrued - before_settlement
            if order.settled_at and remaining > 0:
                settlements.append(
                    _entry(
                        order,
                        line,
                        tier,
                        "settlement",
                        order.settled_at,
                        remaining,
                        pending=-remaining,
                        available=remaining,
                    )
                )
        candidates = [(f"acc#t{tier}", paid_at, accruals)]
        for phase in (PRE, POST):
            if phase == POST and order.settled_at:
                candidates.append((f"set#t{tier}", order.settled_at, settlements))
            for refund_id, refund in _refunds_in_order(order):
                if refund.phase == phase:
                    candidates.append((f"ref#{refund_id}#t{tier}", refund.at, by_refund.get(refund_id, [])))
        for key, at, entries in candidates:
            if entries:
                out.append(
                    Group(key=key, distributor_id=distributor, tier=tier, at=at, entries=tuple(entries))
                )
    return out


def rows(order: Order) -> list[Commission]:
    """One commission row per line and tier: what the distributor sees in ``me/commissions``."""
    if order.state != PAID or order.paid_at is None:
        return []
    out = []
    settled = order.settled_at
    for tier in domain.TIERS:
        distributor = order.distributor(tier)
        if not distributor:
            continue
        for line in order.lines:
            accrued = line.accrual(tier)
            if accrued <= 0:
                continue
            reversed_amount = clawback = 0
            for _, refund, share in _shares(order, line, tier):
                if refund.phase == POST:
                    clawback += share
                else:
                    reversed_amount += share
            amount = accrued - reversed_amount - clawback
            if settled:
                status = "available" if amount > 0 else ("clawed_back" if clawback else "reversed")
            else:
                status = "pending" if amount > 0 else "reversed"
            out.append(
                Commission(
                    distributor_id=distributor,
                    order_id=order.order_id,
                    line_id=line.line_id,
                    product_id=line.product_id,
                    tier=tier,
                    rate_bps=line.rate_bps(tier),
                    paid_amount=line.paid_amount,
                    accrued_amount=accrued,
                    reversed_amount=reversed_amount,
                    clawback_amount=clawback,
                    amount=amount,
                    status=status,
                    currency=order.currency or "CNY",
                    created_at=order.paid_at,
                    settled_at=settled,
                )
            )
    return out


def settled_totals(order: Order) -> tuple[int, int]:
    """(commissions moved to available, amount moved) by the order's settlement."""
    moved = [e for g in groups(order) if g.key.startswith("set#") for e in g.entries]
    return len(moved), sum(e.amount for e in moved)
