"""Order events: record a payment or a refund on the order (one conditional write, keyed by
the order; a fact already recorded is not recorded again), then post whatever entries the
recorded facts imply and are not posted yet (``posting.post_order``). So a redelivered event
repairs what a crashed delivery left half done and otherwise changes nothing, and a refund
that arrives before its payment is recorded and reversed as soon as the payment is.

Unknown or inactive codes, self-purchases and foreign currencies earn nothing and are
counted per shop. A refund above what a line paid is capped (and logged)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from campaign_shared import clock, observability
from campaign_shared.storage import retry
from chalicelib.distribution import domain
from chalicelib.distribution.domain import Order, PaidLine, ledger
from chalicelib.distribution.store.records import Claim, DistributorRecord, OrderRecord
from chalicelib.distribution.usecases import bindings, levels, posting, shops
from chalicelib.distribution.usecases.stores import STORES, Stores

SERVICE = "distribution"
MAX_ATTEMPTS = 10
BUSY = "order record is busy"  # 503 when the order keeps changing under this delivery


def _log() -> Any:
    return observability.logger(SERVICE)


@dataclass(frozen=True)
class Payment:
    """What ``order.paid`` tells this service."""

    shop: str
    order_id: str
    customer_id: str
    currency: str
    code: str
    occurred_at: str
    lines: Sequence[PaidLine]


@dataclass(frozen=True)
class RefundFacts:
    """What ``order.refunded`` tells this service (amounts per line, summed)."""

    shop: str
    order_id: str
    refund_id: str
    occurred_at: str
    lines: dict[str, int]


def _saved(base: OrderRecord | None, recorded: Order, claims: dict[str, Claim]) -> OrderRecord:
    """The order as stored after a save: the new facts, the marks it had, the new claims."""
    applied = {**(base.applied if base else {}), **claims}
    return OrderRecord(recorded, applied)


def on_paid(payment: Payment, *, st: Stores = STORES) -> None:
    """Record a payment and post what it earns. With customer binding on (``binding_days``),
    the binding decides who earns (``usecases.bindings``): an order without a code earns the
    bound distributor, and nothing is written for it when the customer is not bound."""
    shop = payment.shop
    rules = shops.rules(shop, st)
    link = st.links.get(shop, payment.code) if payment.code else None
    code_owner = link.distributor_id if link else None
    resolved = bindings.resolve(shop, payment.customer_id, code_owner, rules, st=st)
    if not payment.code and resolved.choice.earner is None:
        return  # no code and not bound: nothing to earn, nothing to record
    redelivered = False
    claimed: dict[str, Claim] = {}
    started = time.monotonic()
    snapshots: dict[str, DistributorRecord] = {}
    for attempt in retry.attempts(MAX_ATTEMPTS, busy=BUSY, base=0.001, cap=0.005):
        claimed, snapshots = {}, {}  # only what a successful save claimed counts
        # A payment is most often the order's first fact: try to create the record before
        # reading it (a refused create costs what the read would have; then read and retry).
        found = None if attempt == 0 else st.orders.get(shop, payment.order_id)
        if found is not None and found.order.state != ledger.UNPAID:
            record = found
            redelivered = True
            break
        base = found.order if found else ledger.new_order(shop, payment.order_id)
        recorded, snapshots = _record_paid(base, payment, rules, resolved.choice.earner, st)
        now = clock.epoch(clock.now())
        claimed = posting.new_group_claims(base, recorded, now)
        started = time.monotonic()
        if st.orders.save(recorded, base.version, now, claimed):
            if recorded.state != ledger.PAID:
                st.shops.bump_stat(shop, recorded.reason or domain.NO_COMMISSION)
                _log().info(
                    "order earns no commission",
                    extra={"order_id": payment.order_id, "reason": recorded.reason},
                )
            record = _saved(found, recorded, claimed)
            _log_refund_anomalies(record.order)
            break
    if record.order.state == ledger.PAID:
        posting.post_order(
            record, claimed=claimed, claimed_at=started, redelivered=redelivered, snapshots=snapshots, st=st
        )
        bindings.after_paid(shop, record.order, resolved, redelivered=redelivered, st=st)


def _log_refund_anomalies(order: Order, only: str | None = None) -> None:
    if order.state != ledger.PAID:
        return
    for refund_id in order.refunds:
        if only is not None and refund_id != only:
            continue
        anomalies = ledger.refund_anomalies(order, refund_id)
        if anomalies.unknown_lines or anomalies.capped_amount:
            _log().warning(
                "refund exceeds the payment; capped",
                extra={"order_id": order.order_id, "refund_id": refund_id, **asdict(anomalies)},
            )


def _record_paid(
    order: Order, payment: Payment, rules: domain.Rules, earner: str | None, st: Stores
) -> tuple[Order, dict[str, DistributorRecord]]:
    """The order with the payment recorded (earning for ``earner``, the code's owner or the
    bound distributor, at the rate of their level in force when paid: ``levels.in_force``),
    and the distributor records read to decide."""
    shop = payment.shop
    owner, parent = _earners(shop, earner, st)
    attribution = domain.attribute(
        rules=rules,
        customer_id=payment.customer_id,
        currency=payment.currency,
        owner=owner.member if owner else None,
        parent=parent.member if parent else None,
    )
    now = clock.now()
    paid = domain.paid_at(clock.parse(payment.occurred_at), now)
    level = levels.in_force(shop, owner, clock.iso(paid), st=st) if owner is not None else None
    recorded = ledger.record_paid(
        order,
        attribution=attribution,
        rules=rules,
        lines=payment.lines,
        customer_id=payment.customer_id,
        currency=payment.currency,
        code=payment.code,
        paid_at=clock.iso(paid),
        settle_due_at=clock.iso(domain.settle_due(paid, rules)),
        level=level,
    )
    snapshots = {r.distributor_id: r for r in (owner, parent) if r is not None}
    return recorded, snapshots


_PARENTS: dict[tuple[str, str], str | None] = {}  # (shop, distributor) -> inviter, as last read
PARENTS_SIZE = 10_000


def _earners(
    shop: str, earner: str | None, st: Stores
) -> tuple[DistributorRecord | None, DistributorRecord | None]:
    """The earner's record and their inviter's, fresh (status and balance version matter): one
    batch read when this process knows the inviter (a distributor's inviter is set when they
    register), else one read each. A remembered inviter that proves wrong is read again."""
    if not earner:
        return None, None
    remembered = _PARENTS.get((shop, earner), "")
    if remembered:
        found = {r.distributor_id: r for r in st.distributors.get_many(shop, [earner, remembered])}
        owner = found.get(earner)
    else:
        found = {}
        owner = st.distributors.get(shop, earner)
    if owner is None:
        return None, None
    if len(_PARENTS) >= PARENTS_SIZE:
        _PARENTS.clear()
    _PARENTS[(shop, earner)] = owner.parent_id
    if not owner.parent_id:
        return owner, None
    parent = found.get(owner.parent_id) if owner.parent_id == remembered else None
    return owner, parent if parent is not None else st.distributors.get(shop, owner.parent_id)


def on_refunded(refund: RefundFacts, *, st: Stores = STORES) -> None:
    shop = refund.shop
    redelivered = False
    claimed: dict[str, Claim] = {}
    started = time.monotonic()
    for _ in retry.attempts(MAX_ATTEMPTS, busy=BUSY, base=0.001, cap=0.005):
        claimed = {}  # only what a successful save claimed counts
        found = st.orders.get(shop, refund.order_id)
        if found is not None and found.order.state == ledger.UNATTRIBUTED:
            _log().info("refund of an order without commission dropped", extra={"order_id": refund.order_id})
            return
        if found is not None and refund.refund_id in found.order.refunds:
            record = found
            redelivered = True
            break
        base = found.order if found else ledger.new_order(shop, refund.order_id)
        at = clock.iso(min(clock.parse(refund.occurred_at), clock.now()))
        recorded = ledger.record_refund(base, refund.refund_id, at, refund.lines)
        now = clock.epoch(clock.now())
        claimed = posting.new_group_claims(base, recorded, now)
        started = time.monotonic()
        if st.orders.save(recorded, base.version, now, claimed):
            record = _saved(found, recorded, claimed)
            _log_refund_anomalies(record.order, only=refund.refund_id)
            break
    if record.order.state == ledger.PAID:
        posting.post_order(record, claimed=claimed, claimed_at=started, redelivered=redelivered, st=st)
