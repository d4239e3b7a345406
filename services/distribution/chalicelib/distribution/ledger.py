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

import copy
from typing import Any

from chalicelib.distribution import domain

UNPAID, PAID, UNATTRIBUTED = "unpaid", "paid", "unattributed"
PRE, POST = "pre", "post"


def new_order(shop: str, order_id: str) -> dict[str, Any]:
    return {"shop": shop, "order_id": order_id, "version": 0, "state": UNPAID, "refunds": {}, "lines": []}


def _next(order: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(order)
    out["version"] = int(order.get("version", 0)) + 1
    return out


# ---- facts -------------------------------------------------------------------------------


def record_paid(
    order: dict[str, Any],
    *,
    attribution: domain.Attribution,
    rules: domain.Rules,
    lines: list[dict[str, Any]],
    customer_id: str,
    currency: str,
    code: str,
    paid_at: str,
    settle_due_at: str,
) -> dict[str, Any]:
    """The order with its payment recorded (attributed or not). Refunds recorded earlier
    all came before settlement."""
    out = _next(order)
    out.update(customer_id=customer_id, currency=currency, code=code, paid_at=paid_at)
    priced = domain.priced_lines(rules, lines, attribution.tier2 is not None)
    earns = sum(line["a1"] + line["a2"] for line in priced) > 0
    if attribution.reason is not None or not earns:
        out.update(state=UNATTRIBUTED, reason=attribution.reason or domain.NO_COMMISSION, lines=[])
        return out
    out.update(
        state=PAID,
        reason=None,
        tier1=attribution.tier1,
        tier2=attribution.tier2,
        lines=priced,
        settle_due_at=settle_due_at,
    )
    for refund in out["refunds"].values():
        refund["phase"] = PRE
    return out


def record_refund(order: dict[str, Any], refund_id: str, at: str, lines: dict[str, int]) -> dict[str, Any]:
    """The order with a refund recorded (amounts per line, summed if a line repeats)."""
    if refund_id in order.get("refunds", {}):
        raise ValueError(f"refund {refund_id} is already recorded")
    out = _next(order)
    phase = None
    if out["state"] == PAID:
        phase = POST if out.get("settled_at") else PRE
    seq = 1 + max((r["seq"] for r in out["refunds"].values()), default=0)
    out["refunds"][refund_id] = {"seq": seq, "at": at, "lines": dict(lines), "phase": phase}
    return out


def is_due(order: dict[str, Any], as_of: str) -> bool:
    return order.get("state") == PAID and not order.get("settled_at") and order["settle_due_at"] <= as_of


def settle(order: dict[str, Any], at: str) -> dict[str, Any]:
    if order.get("state") != PAID or order.get("settled_at"):
        raise ValueError("only a paid, unsettled order can be settled")
    out = _next(order)
    out["settled_at"] = at
    return out


def refund_anomalies(order: dict[str, Any], refund_id: str) -> dict[str, Any]:
    """What a refund asked for that the payment does not cover: unknown lines and the
    amount above ``paid_amount`` (capped). For logs; the ledger ignores both."""
    paid = {line["line_id"]: line["paid"] for line in order.get("lines", [])}
    unknown = []
    capped = 0
    refunded: dict[str, int] = {}
    for rid, refund in _refunds_in_order(order):
        for line_id, amount in refund["lines"].items():
            if line_id not in paid:
                if rid == refund_id:
                    unknown.append(line_id)
                continue
            before = refunded.get(line_id, 0)
            refunded[line_id] = before + amount
            if rid == refund_id:
                capped += max(0, before + amount - max(paid[line_id], before))
    return {"unknown_lines": unknown, "capped_amount": capped}


# ---- entries -------------------------------------------------------------------------------


def _refunds_in_order(order: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(order.get("refunds", {}).items(), key=lambda item: item[1]["seq"])


def _shares(order: dict[str, Any], line: dict[str, Any], tier: int) -> list[tuple[str, dict[str, Any], int]]:
    """(refund id, refund, amount taken back from this line's tier) in refund order."""
    accrued, paid = line[f"a{tier}"], line["paid"]
    refunded = 0
    taken = 0
    out = []
    for refund_id, refund in _refunds_in_order(order):
        amount = refund["lines"].get(line["line_id"], 0)
        if amount <= 0:
            continue
        refunded += amount
        total = domain.reversed_part(accrued, refunded, paid)
        out.append((refund_id, refund, total - taken))
        taken = total
    return out


def _entry(order: dict[str, Any], line: dict[str, Any], tier: int, kind: str, at: str, **deltas: Any) -> dict:
    suffix = f"#{deltas.pop('refund_id')}" if "refund_id" in deltas else ""
    entry = {
        "entry_id": f"{order['order_id']}#{line['line_id']}#t{tier}#{kind}{suffix}",
        "kind": kind,
        "order_id": order["order_id"],
        "line_id": line["line_id"],
        "tier": tier,
        "at": at,
        "currency": order.get("currency", "CNY"),
    }
    if suffix:
        entry["refund_id"] = suffix[1:]
    entry.update(deltas)
    return entry


def groups(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry group the order's facts imply, in causal order. Empty groups are left out."""
    if order.get("state") != PAID:
        return []
    out = []
    for tier in domain.TIERS:
        distributor = order.get(f"tier{tier}")
        if not distributor:
            continue
        lines = [line for line in order["lines"] if line[f"a{tier}"] > 0]
        accruals = []
        by_refund: dict[str, list[dict[str, Any]]] = {}
        settlements = []
        for line in lines:
            accrued = line[f"a{tier}"]
            accruals.append(
                _entry(
                    order,
                    line,
                    tier,
                    "accrual",
                    order["paid_at"],
                    amount=accrued,
                    pending=accrued,
                    earned=accrued,
                )
            )
            before_settlement = 0
            for refund_id, refund, share in _shares(order, line, tier):
                if share <= 0:
                    continue
                if refund["phase"] == POST:
                    entry = _entry(
                        order,
                        line,
                        tier,
                        "clawback",
                        refund["at"],
                        refund_id=refund_id,
                        amount=share,
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
                        refund["at"],
                        refund_id=refund_id,
                        amount=share,
                        pending=-share,
                        earned=-share,
                    )
                by_refund.setdefault(refund_id, []).append(entry)
            remaining = accrued - before_settlement
            if order.get("settled_at") and remaining > 0:
                settlements.append(
                    _entry(
                        order,
                        line,
                        tier,
                        "settlement",
                        order["settled_at"],
                        amount=remaining,
                        pending=-remaining,
                        available=remaining,
                    )
                )
        candidates = [(f"acc#t{tier}", order["paid_at"], accruals)]
        for refund_id, refund in _refunds_in_order(order):
            if refund["phase"] == PRE:
                candidates.append((f"ref#{refund_id}#t{tier}", refund["at"], by_refund.get(refund_id, [])))
        if order.get("settled_at"):
            candidates.append((f"set#t{tier}", order["settled_at"], settlements))
        for refund_id, refund in _refunds_in_order(order):
            if refund["phase"] == POST:
                candidates.append((f"ref#{refund_id}#t{tier}", refund["at"], by_refund.get(refund_id, [])))
        for key, at, entries in candidates:
            if entries:
                out.append(
                    {"key": key, "distributor_id": distributor, "tier": tier, "at": at, "entries": entries}
                )
    return out


def rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    """One commission row per line and tier: what the distributor sees in ``me/commissions``."""
    if order.get("state") != PAID:
        return []
    out = []
    settled = order.get("settled_at")
    for tier in domain.TIERS:
        distributor = order.get(f"tier{tier}")
        if not distributor:
            continue
        for line in order["lines"]:
            accrued = line[f"a{tier}"]
            if accrued <= 0:
                continue
            reversed_amount = clawback = 0
            for _, refund, share in _shares(order, line, tier):
                if refund["phase"] == POST:
                    clawback += share
                else:
                    reversed_amount += share
            amount = accrued - reversed_amount - clawback
            if settled:
                status = "available" if amount > 0 else ("clawed_back" if clawback else "reversed")
            else:
                status = "pending" if amount > 0 else "reversed"
            out.append(
                {
                    "distributor_id": distributor,
                    "order_id": order["order_id"],
                    "line_id": line["line_id"],
                    "product_id": line["product_id"],
                    "tier": tier,
                    "rate_bps": line[f"r{tier}"],
                    "paid_amount": line["paid"],
                    "accrued_amount": accrued,
                    "reversed_amount": reversed_amount,
                    "clawback_amount": clawback,
                    "amount": amount,
                    "status": status,
                    "currency": order.get("currency", "CNY"),
                    "created_at": order["paid_at"],
                    "settled_at": settled,
                }
            )
    return out


def settled_totals(order: dict[str, Any]) -> tuple[int, int]:
    """(commissions moved to available, amount moved) by the order's settlement."""
    moved = [e for g in groups(order) if g["key"].startswith("set#") for e in g["entries"]]
    return len(moved), sum(e["amount"] for e in moved)
