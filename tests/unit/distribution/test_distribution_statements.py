"""Monthly statements tie out against the ledger on random histories: orders, refunds before
and after settlement, settlements, withdrawal requests paid, rejected or failed, spread over
months; every month's closing is the next month's opening, equals the ledger's sums to its
end, and the last one equals the balance."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest, NotFound
from chalicelib.distribution import domain
from chalicelib.distribution.domain import statements
from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.store.records import DistributorRecord, LinkRecord, RulesRecord
from chalicelib.distribution.usecases import Stores, orders, payouts, settlement, withdrawals

from .fakes import fake_stores

SHOP = "s1"
START = datetime(2026, 1, 3, tzinfo=UTC)
MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
MORE_MONTHS = ["2026-06", "2026-07", "2026-08", "2026-09"]  # the history runs up to 180 days


def _stores(months_from: str | None = "2025-12") -> Stores:
    """``months_from``: since when the distributors' month totals are kept (None: from before
    totals were kept)."""
    st = fake_stores()
    rules = domain.Rules(default_rate_bps=1000, parent_rate_bps=500, auto_approve=True, settle_after_days=7)
    st.shops.put_rules(SHOP, RulesRecord(rules, "2026-01-01T00:00:00Z"))
    for sub, parent in (("p", None), ("c", "p")):
        record = DistributorRecord(
            distributor_id=sub, status="approved", parent_id=parent, months_from=months_from
        )
        st.distributors.create(SHOP, record)
    st.links.create(SHOP, LinkRecord("code-c", "c", None, "2026-01-01T00:00:00Z"))
    return st


def _history(st: Stores, rng: random.Random, monkeypatch) -> None:
    now = [START]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    paid: list[tuple[str, int, int]] = []  # order, amount, refunded
    requests: list[str] = []
    for step in range(60):
        now[0] += timedelta(hours=rng.randint(1, 72))
        roll = rng.random()
        if roll < 0.35:
            amount = rng.randint(1, 50_000)
            order_id = f"o-{step}"
            orders.on_paid(
                orders.Payment(
                    SHOP,
                    order_id,
                    f"buyer-{step}",
                    "CNY",
                    "code-c",
                    clock.iso(now[0]),
                    [domain.PaidLine("l-1", "x", amount)],
                ),
                st=st,
            )
            paid.append((order_id, amount, 0))
        elif roll < 0.5 and paid:
            i = rng.randrange(len(paid))
            order_id, amount, refunded = paid[i]
            if refunded < amount:
                part = rng.randint(1, amount - refunded)
                facts = orders.RefundFacts(SHOP, order_id, f"r-{step}", clock.iso(now[0]), {"l-1": part})
                orders.on_refunded(facts, st=st)
                paid[i] = (order_id, amount, refunded + part)
        elif roll < 0.65:
            settlement.settle(SHOP, st=st)
        elif roll < 0.8:
            available = st.distributors.get(SHOP, "c").available
            if available > 0:
                made = withdrawals.withdraw(SHOP, "c", rng.randint(1, available), st=st)
                requests.append(made.withdrawal_id)
        elif requests:
            reviewable = [
                w
                for w in requests
                if st.withdrawals.get(SHOP, "c", w).status in (flow.PENDING_REVIEW, flow.APPROVED)
            ]
            wid = rng.choice(reviewable or requests)
            status = st.withdrawals.get(SHOP, "c", wid).status
            likely = {
                flow.PENDING_REVIEW: [flow.APPROVE, flow.APPROVE, flow.REJECT],
                flow.APPROVED: [flow.PAY] * 3,
            }
            choices = likely.get(status, []) + [flow.FAIL]  # now and then one the workflow refuses
            action = rng.choice(choices)
            try:
                payouts.transition(SHOP, "c", wid, action, reason="r", reference="ref", st=st)
            except Conflict:
                pass  # a transition the workflow refuses: nothing written


@pytest.mark.parametrize("seed", range(25))
def test_statements_tie_out_against_the_ledger_on_random_histories(seed, monkeypatch):
    st = _stores(None if seed % 5 == 4 else "2025-12")  # every fifth: a distributor from before totals
    _history(st, random.Random(seed), monkeypatch)
    for sub in ("c", "p"):
        entries = st.ledger.all_entries(SHOP, sub)
        previous_closing = 0
        for month in [*MONTHS, *MORE_MONTHS]:
            made = settlement.statement(SHOP, sub, month, st=st)
            summed = settlement.statement_from_ledger(SHOP, sub, month, st=st)  # kept totals or not
            assert (made.opening_amount, made.closing_amount, made.reserved_amount) == (
                summed.opening,
                summed.closing,
                summed.reserved,
            )
            assert (made.earned_amount, made.reversed_amount, made.withdrawn_amount, made.entry_count) == (
                summed.earned,
                summed.reversed,
                summed.withdrawn,
                summed.entry_count,
            )
            _, end = statements.month_bounds(month)
            upto = [e for e in entries if e.at < end]
            assert made.opening_amount == previous_closing
            assert made.closing_amount == sum(statements.owed(e) for e in upto)
            assert made.closing_amount == (
                made.opening_amount + made.earned_amount - made.reversed_amount - made.withdrawn_amount
            )
            assert made.reserved_amount == sum(e.reserved for e in upto)
            assert made.earned_amount - made.reversed_amount == sum(
                e.earned for e in upto if e.at >= statements.month_bounds(month)[0]
            )
            previous_closing = made.closing_amount
        record = st.distributors.get(SHOP, sub)
        assert previous_closing == record.pending + record.available + record.reserved
        # the recent months were answered from the kept totals (the others from the ledger)
        assert record.months_from is not None and len(record.months) <= statements.KEPT_MONTHS
        assert any(m >= record.months_from for m in MORE_MONTHS), record.months_from
        every = [*MONTHS, *MORE_MONTHS]
        assert sum(settlement.statement(SHOP, sub, m, st=st).entry_count for m in every) == len(entries)
        assert settlement.reconcile(SHOP, sub, st=st).consistent


def test_a_statement_refuses_a_bad_month_and_an_unknown_distributor():
    st = _stores()
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", "3000-01"):
        with pytest.raises(InvalidRequest):
            settlement.statement(SHOP, "c", bad, st=st)
    with pytest.raises(NotFound):
        settlement.statement(SHOP, "nobody", "2026-01", st=st)
    assert statements.month_bounds("2026-12") == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
