"""Settlement (pending commissions due by a time become available), the daily run over every
shop, reconciliation of balances against the ledger, and monthly statements."""

from __future__ import annotations

import time

from campaign_shared import clock
from campaign_shared.errors import InvalidRequest, NotFound
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import domain, models
from chalicelib.distribution.domain import Entry, ledger, statements
from chalicelib.distribution.store.records import DistributorRecord, OrderRecord
from chalicelib.distribution.usecases import posting
from chalicelib.distribution.usecases.stores import STORES, Stores

SETTLE_PAGE = 100
ORDER_ATTEMPTS = 5
RECONCILE_ATTEMPTS = 5


def settle(
    shop: str, as_of: str | None = None, max_orders: int = 300, *, st: Stores = STORES
) -> models.SettlementOut:
    """Move commissions of orders due at or before ``as_of`` (default now) from pending to
    available. Idempotent: an order is settled once (a conditional write on its version).
    Stops after ``max_orders`` (``has_more``: run it again for the rest). An ``as_of`` in the
    future is refused (400; ``domain.AS_OF_SKEW`` of clock skew is settled as of now)."""
    try:
        effective = domain.settlement_as_of(clock.parse(as_of) if as_of else None, clock.now())
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), details=[{"loc": ["body", "as_of"], "msg": str(exc), "type": "future_time"}]
        ) from None
    as_of_text = clock.iso(effective)
    count = amount = orders = 0
    skipped: set[str] = set()
    while orders < max_orders:
        due = st.orders.due_orders(shop, as_of_text, SETTLE_PAGE + len(skipped))
        batch = [o for o in due if o not in skipped]
        if not batch:
            return models.SettlementOut(
                settled_count=count, settled_amount=amount, as_of=as_of_text, has_more=False
            )
        for order_id in batch:
            orders += 1
            moved = _settle_order(shop, order_id, as_of_text, st)
            if moved is None:
                skipped.add(order_id)
                continue
            count += moved[0]
            amount += moved[1]
    return models.SettlementOut(settled_count=count, settled_amount=amount, as_of=as_of_text, has_more=True)


def _settle_order(shop: str, order_id: str, as_of: str, st: Stores) -> tuple[int, int] | None:
    """Settle one order; (commissions, amount) moved, or None when this run settled nothing
    (not due, settled by another run, or only its posting repaired)."""
    for _ in retry.rounds(ORDER_ATTEMPTS):
        record = st.orders.get(shop, order_id)
        if record is None:
            return None
        order = record.order
        if order.settled_at:
            posting.post_order(record, st=st)  # settled, but its posting was interrupted: finish it
            return None
        if not ledger.is_due(order, as_of):
            return None
        settled = ledger.settle(order, clock.iso(clock.now()))
        now = clock.epoch(clock.now())
        claims = posting.new_group_claims(order, settled, now)
        started = time.monotonic()
        if st.orders.save(settled, order.version, now, claims):
            saved = OrderRecord(settled, {**record.applied, **claims})
            posting.post_order(saved, claimed=claims, claimed_at=started, st=st)
            return ledger.settled_totals(settled)
    return None


def settle_all_shops(deadline_seconds: float = 600, *, st: Stores = STORES) -> dict[str, int]:
    """The daily run: every shop, as of now."""
    started = time.monotonic()
    now = clock.iso(clock.now())
    total = {"shops": 0, "settled_count": 0, "settled_amount": 0}
    for shop in st.shops.list_shops():
        while time.monotonic() - started < deadline_seconds:
            result = settle(shop, now, max_orders=2000, st=st)
            total["settled_count"] += result.settled_count
            total["settled_amount"] += result.settled_amount
            if not result.has_more:
                break
        total["shops"] += 1
    return total


# ---- reconciliation ------------------------------------------------------------------------


def reconcile(shop: str, distributor_id: str, *, st: Stores = STORES) -> models.ReconciliationOut:
    """Compare a distributor's balances with the sums of their ledger entries (plus journal
    entries not written yet); ``drift`` is balance minus ledger per bucket, zero when exact.
    ``journal_groups``: the groups being posted (in the journal with entries not written;
    finished groups wait there for the next balance write, see ``usecases.posting``).
    The ledger is read between two reads of the balance that agree (a few tries)."""
    before: DistributorRecord | None = None
    entries: list[Entry] = []
    for _ in retry.rounds(RECONCILE_ATTEMPTS):
        before = st.distributors.get(shop, distributor_id)
        if before is None:
            raise NotFound("no such distributor")
        entries = st.ledger.all_entries(shop, distributor_id)
        after = st.distributors.get(shop, distributor_id)
        if after is not None and after.version == before.version:
            break
    if before is None:  # pragma: no cover (rounds yields at least once)
        raise NotFound("no such distributor")
    written = {e.entry_id for e in entries}
    unfinished = [g for g in before.journal.values() if any(e.entry_id not in written for e in g.entries)]
    pending_entries = [e for g in unfinished for e in g.entries if e.entry_id not in written]
    sums = domain.sum_entries(entries + pending_entries)
    balances = before.balance()
    drift = {bucket: balances[bucket] - sums[bucket] for bucket in domain.BUCKETS}
    return models.ReconciliationOut(
        distributor_id=distributor_id,
        balance=models.Buckets(**balances),
        ledger=models.Buckets(**sums),
        drift=models.Buckets(**drift),
        entry_count=len(entries),
        journal_groups=len(unfinished),
        consistent=not any(drift.values()),
    )


def reconcile_page(shop: str, page: PageParams, *, st: Stores = STORES) -> models.ReconciliationPage:
    records, cursor = st.distributors.board_page(shop, page)
    reports = [reconcile(shop, r.distributor_id, st=st) for r in records]
    return models.ReconciliationPage(items=reports, next_cursor=cursor)


# ---- statements ------------------------------------------------------------------------------


def statement(
    shop: str, distributor_id: str, month: str, *, st: Stores = STORES
) -> models.DistributionStatementOut:
    """A distributor's statement of a calendar month (``domain.statements``): from the month
    totals kept with the balance (one read) for recent months, else from one read of their
    ledger up to the month's end. 400 for a malformed month, 404 for no distributor."""
    try:
        start, end = statements.month_bounds(month)
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), details=[{"loc": ["path", "month"], "msg": str(exc), "type": "month"}]
        ) from None
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    if record.months_from is not None and month >= record.months_from:
        owed = record.pending + record.available + record.reserved
        made = statements.from_totals(month, owed, record.reserved, record.months)
    else:
        made = statement_from_ledger(shop, distributor_id, month, st=st)
    return models.DistributionStatementOut(
        distributor_id=distributor_id,
        month=month,
        opening_amount=made.opening,
        earned_amount=made.earned,
        reversed_amount=made.reversed,
        withdrawn_amount=made.withdrawn,
        reserved_amount=made.reserved,
        closing_amount=made.closing,
        entry_count=made.entry_count,
        currency=record.currency,
    )


def statement_from_ledger(
    shop: str, distributor_id: str, month: str, *, st: Stores = STORES
) -> statements.Statement:
    """The statement of ``month`` summed from the ledger (every entry up to the month's end)."""
    start, end = statements.month_bounds(month)
    entries = st.ledger.entries_before(shop, distributor_id, end)
    return statements.statement(
        month, [e for e in entries if e.at < start], [e for e in entries if start <= e.at < end]
    )
