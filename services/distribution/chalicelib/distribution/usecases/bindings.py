"""Customer binding: resolving who a paid order earns for (``domain.binding``), binding after
the order is recorded, counting the orders and GMV a binding brings, and the merchant's and
distributor's views and changes (transfer, unbind: audited, for later orders only)."""

from __future__ import annotations

from dataclasses import dataclass

from campaign_shared import clock
from campaign_shared.errors import Conflict, NotFound, ServiceUnavailable
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import domain, models
from chalicelib.distribution.domain import Order, ledger
from chalicelib.distribution.domain import binding as rules_of
from chalicelib.distribution.store.bindings import BindingChange, BindingRecord
from chalicelib.distribution.usecases.stores import STORES, Stores

CHANGE_ATTEMPTS = 5
COUNT_WINDOW_DAYS = 35  # how long an order counted on a binding is remembered (redeliveries)


@dataclass(frozen=True)
class Resolved:
    choice: rules_of.Choice
    binding: BindingRecord | None
    enabled: bool = True  # False: the shop has no binding (nothing to bind or count)


def _domain(record: BindingRecord | None) -> rules_of.Binding | None:
    if record is None:
        return None
    return rules_of.Binding(record.customer_id, record.distributor_id, clock.parse(record.bound_at))


def resolve(
    shop: str, customer_id: str, code_owner: str | None, rules: domain.Rules, *, st: Stores = STORES
) -> Resolved:
    """Who a paid order of ``customer_id`` earns for (one read of the binding, none when the
    shop has no binding)."""
    if rules.binding_days is None:
        return Resolved(rules_of.Choice(code_owner), None, enabled=False)
    record = st.bindings.get(shop, customer_id)
    choice = rules_of.choose(
        _domain(record), code_owner, rules.binding_days, rules.binding_policy, clock.now()
    )
    return Resolved(choice, record)


def after_paid(
    shop: str, order: Order, resolved: Resolved, *, redelivered: bool = False, st: Stores = STORES
) -> None:
    """Once the order is recorded: bind (or take over) the customer if the order earned the
    distributor it chose, with the order counted and the change audited in the same put; or
    count the order on the binding (once per order: ``counted`` remembers the orders paid in
    the last ``COUNT_WINDOW_DAYS``, and a redelivered order paid before that is taken as
    counted). One write either way. Idempotent."""
    choice = resolved.choice
    customer = order.customer_id
    if not resolved.enabled:
        return
    if order.state != ledger.PAID or not customer or not choice.earner or order.tier1 != choice.earner:
        return
    gmv = sum(line.paid_amount for line in order.lines)
    paid_at = clock.parse(order.paid_at) if order.paid_at else clock.now()
    paid_epoch = clock.epoch(paid_at)
    window_start = clock.epoch(clock.now()) - COUNT_WINDOW_DAYS * 86400
    before = resolved.binding
    if choice.bind is not None:
        version = before.version if before else 0
        change = BindingChange(
            customer_id=customer,
            action="bind" if choice.bind == rules_of.NEW else "takeover",
            at=clock.iso(paid_at),
            from_distributor=before.distributor_id if before else None,
            to_distributor=choice.earner,
            order_id=order.order_id,
        )
        record = BindingRecord(
            customer,
            choice.earner,
            clock.iso(paid_at),
            version + 1,
            orders=1,
            gmv_amount=gmv,
            counted={order.order_id: paid_epoch},
            changes=(*(before.changes if before else ()), change),
        )
        if st.bindings.put(shop, record, version):
            return
        before = st.bindings.get(shop, customer)  # a redelivery (or a race): count it, once
        if before is None:
            return
    if before is not None and order.order_id in before.counted:
        return
    if redelivered and paid_epoch < window_start:
        return  # counted when first delivered, and forgotten since (see the docstring)
    forget = tuple(o for o, at in (before.counted if before else {}).items() if at < window_start)
    st.bindings.count_order(shop, customer, choice.earner, order.order_id, gmv, paid_epoch, forget)


# ---- views -------------------------------------------------------------------------------------


def _customer_out(record: BindingRecord, masked: bool) -> models.DistributionBoundCustomerOut:
    return models.DistributionBoundCustomerOut(
        customer_id=rules_of.mask_customer(record.customer_id) if masked else record.customer_id,
        distributor_id=record.distributor_id or "",
        bound_at=record.bound_at,
        orders=record.orders,
        gmv_amount=record.gmv_amount,
    )


def customers(
    shop: str, distributor_id: str, page: PageParams, *, masked: bool, st: Stores = STORES
) -> models.DistributionBoundCustomerPage:
    """A distributor's bound customers (ids masked for the distributor)."""
    if st.distributors.get(shop, distributor_id) is None:
        raise NotFound("no such distributor")
    found, cursor = st.bindings.of_distributor(shop, distributor_id, page)
    items = [_customer_out(r, masked) for r in found if r.distributor_id == distributor_id]
    return models.DistributionBoundCustomerPage(items=items, next_cursor=cursor)


def binding(shop: str, customer_id: str, *, st: Stores = STORES) -> models.DistributionBindingOut:
    record = st.bindings.get(shop, customer_id)
    if record is None:
        raise NotFound("the customer was never bound")
    changes = [*st.bindings.history(shop, customer_id), *record.changes]  # older releases' lines first
    history = [
        models.DistributionBindingChangeOut(
            **{k: v for k, v in change.__dict__.items() if k != "customer_id"}
        )
        for change in sorted(changes, key=lambda c: c.at)
    ]
    return models.DistributionBindingOut(
        customer_id=record.customer_id,
        distributor_id=record.distributor_id,
        bound_at=record.bound_at,
        orders=record.orders,
        gmv_amount=record.gmv_amount,
        history=history,
    )


# ---- the merchant's changes ----------------------------------------------------------------------


def change(
    shop: str, customer_id: str, to: str | None, reason: str, by: str, *, st: Stores = STORES
) -> models.DistributionBindingOut:
    """Transfer the customer to ``to`` (an approved distributor: 404 unknown, 409
    ``distributor_not_approved``), or unbind them (``to`` None). The binding restarts (its
    period, orders and GMV) with the new distributor; orders already recorded keep whom they
    earned for. Audited. Repeating a change that is in place changes nothing."""
    if to is not None:
        target = st.distributors.get(shop, to)
        if target is None:
            raise NotFound("no such distributor")
        if target.status != "approved":
            raise Conflict(f"the distributor is {target.status}", code="distributor_not_approved")
    for _ in retry.rounds(CHANGE_ATTEMPTS):
        record = st.bindings.get(shop, customer_id)
        if record is None or (record.distributor_id is None and to is not None):
            raise NotFound("the customer is not bound")
        if record.distributor_id == to:
            return binding(shop, customer_id, st=st)
        at = clock.iso(clock.now())
        entry = BindingChange(
            customer_id=customer_id,
            action="transfer" if to is not None else "unbind",
            at=at,
            from_distributor=record.distributor_id,
            to_distributor=to,
            reason=reason,
            by=by,
        )
        new = BindingRecord(customer_id, to, at, record.version + 1, changes=(*record.changes, entry))
        if st.bindings.put(shop, new, record.version):  # the change and its audit in one write
            return binding(shop, customer_id, st=st)
    raise ServiceUnavailable("the binding is busy; retry shortly")
