"""Order events on the distribution queue: accrue on ``order.paid``, reverse or claw back on
``order.refunded``.

Each handler first records the event's facts on the order (one conditional write, keyed by
the order; a fact already recorded is not recorded again), then posts whatever entries the
recorded facts imply and are not posted yet (``posting.post_order``). So a redelivered event
repairs what a crashed delivery left half done and otherwise changes nothing, and a refund
that arrives before its payment is recorded and reversed as soon as the payment is.

Unknown or inactive codes, self-purchases and foreign currencies earn nothing and are
counted per shop. A refund above what a line paid is capped (and logged). Malformed events
raise ``PoisonMessage`` (retried, then the DLQ); storage failures raise (retried).
"""

from __future__ import annotations

import time
from typing import Any

from campaign_shared import clock, events, observability
from campaign_shared.errors import ServiceUnavailable
from chalicelib.distribution import domain, ledger, posting, store, store_orders

SERVICE = "distribution"
MAX_ATTEMPTS = 10


def _log() -> Any:
    return observability.logger(SERVICE)


def _event(body: dict[str, Any]) -> events.OrderEvent:
    event = events.parse_order_event(body)
    if not event.shop:
        raise events.PoisonMessage("order event without shop")
    return event


def on_paid(body: dict[str, Any]) -> None:
    event = _event(body)
    if not event.distributor_code:
        return
    shop = event.shop
    assert shop is not None
    redelivered = False
    claimed: dict[str, Any] = {}
    started = time.monotonic()
    snapshots: dict[str, dict[str, Any]] = {}
    for _ in range(MAX_ATTEMPTS):
        claimed, snapshots = {}, {}  # only what a successful save claimed counts
        order = store_orders.get_order(shop, event.order_id)
        if order is not None and order["state"] != ledger.UNPAID:
            redelivered = True
            break
        base = order or ledger.new_order(shop, event.order_id)
        recorded, snapshots = _record_paid(base, event)
        now = clock.epoch(clock.now())
        claimed = posting.new_group_claims(base, recorded, now)
        started = time.monotonic()
        if store_orders.save_order(recorded, int(base["version"]), now, claimed):
            if recorded["state"] != ledger.PAID:
                store.bump_stat(shop, recorded["reason"])
                _log().info(
                    "order earns no commission",
                    extra={"order_id": event.order_id, "reason": recorded["reason"]},
                )
            order = _saved(base, recorded, claimed)
            _log_refund_anomalies(order)
            break
    else:
        raise ServiceUnavailable("order record is busy")
    if order["state"] == ledger.PAID:
        posting.post_order(
            order, claimed=claimed, claimed_at=started, redelivered=redelivered, snapshots=snapshots
        )


def _saved(base: dict[str, Any], recorded: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """The order as stored after a save: the new facts, the marks it had, the new claims."""
    return {
        **recorded,
        "applied": {**(base.get("applied") or {}), **claims},
        "projected": base.get("projected", 0),
    }


def _log_refund_anomalies(order: dict[str, Any], only: str | None = None) -> None:
    if order["state"] != ledger.PAID:
        return
    for refund_id in order["refunds"]:
        if only is not None and refund_id != only:
            continue
        anomalies = ledger.refund_anomalies(order, refund_id)
        if anomalies["unknown_lines"] or anomalies["capped_amount"]:
            _log().warning(
                "refund exceeds the payment; capped",
                extra={"order_id": order["order_id"], "refund_id": refund_id, **anomalies},
            )


def _record_paid(
    order: dict[str, Any], event: events.OrderEvent
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The order with the payment recorded, and the distributor records read to decide."""
    shop = event.shop
    assert shop is not None and event.distributor_code is not None
    rules = domain.Rules.from_dict(store.get_rules(shop))
    link = store.get_link(shop, event.distributor_code)
    owner = store.get_distributor(shop, link["distributor_id"]) if link else None
    parent = None
    if owner is not None and owner.get("parent_id"):
        parent = store.get_distributor(shop, owner["parent_id"])
    attribution = domain.attribute(
        rules=rules, customer_id=event.customer_id, currency=event.currency, owner=owner, parent=parent
    )
    now = clock.now()
    paid = domain.paid_at(clock.parse(event.occurred_at), now)
    recorded = ledger.record_paid(
        order,
        attribution=attribution,
        rules=rules,
        lines=[line.model_dump() for line in event.lines],
        customer_id=event.customer_id,
        currency=event.currency,
        code=event.distributor_code,
        paid_at=clock.iso(paid),
        settle_due_at=clock.iso(domain.settle_due(paid, rules)),
    )
    snapshots = {r["distributor_id"]: r for r in (owner, parent) if r is not None}
    return recorded, snapshots


def on_refunded(body: dict[str, Any]) -> None:
    event = _event(body)
    shop = event.shop
    assert shop is not None and event.refund is not None
    refund_id = event.refund.refund_id
    amounts: dict[str, int] = {}
    for line in event.refund.lines:
        amounts[line.line_id] = amounts.get(line.line_id, 0) + line.amount
    redelivered = False
    claimed: dict[str, Any] = {}
    started = time.monotonic()
    for _ in range(MAX_ATTEMPTS):
        claimed = {}  # only what a successful save claimed counts
        order = store_orders.get_order(shop, event.order_id)
        if order is not None and order["state"] == ledger.UNATTRIBUTED:
            _log().info("refund of an order without commission dropped", extra={"order_id": event.order_id})
            return
        if order is not None and refund_id in order["refunds"]:
            redelivered = True
            break
        base = order or ledger.new_order(shop, event.order_id)
        at = clock.iso(min(clock.parse(event.occurred_at), clock.now()))
        recorded = ledger.record_refund(base, refund_id, at, amounts)
        now = clock.epoch(clock.now())
        claimed = posting.new_group_claims(base, recorded, now)
        started = time.monotonic()
        if store_orders.save_order(recorded, int(base["version"]), now, claimed):
            order = _saved(base, recorded, claimed)
            _log_refund_anomalies(order, only=refund_id)
            break
    else:
        raise ServiceUnavailable("order record is busy")
    if order["state"] == ledger.PAID:
        posting.post_order(order, claimed=claimed, claimed_at=started, redelivered=redelivered)
