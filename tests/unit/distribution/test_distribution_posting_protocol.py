"""The posting protocol on in-memory repositories (no moto): ledger groups posted to balances
through the order's claims and the distributor's journal, with duplicates, retried writes
whose answer was lost, crashes between the writes, claims left by a crashed delivery, and
withdrawals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaign_shared import clock
from campaign_shared.errors import Conflict
from chalicelib.distribution import domain
from chalicelib.distribution.store.records import Claim, DistributorRecord, LinkRecord, RulesRecord
from chalicelib.distribution.usecases import Stores, orders, posting, settlement, withdrawals

from .fakes import Faults, fake_stores

SHOP = "s1"


@pytest.fixture
def st() -> Stores:
    stores = fake_stores()
    rules = domain.Rules(default_rate_bps=1000, parent_rate_bps=500, auto_approve=True)
    stores.shops.put_rules(SHOP, RulesRecord(rules, "2026-11-01T00:00:00Z"))
    for sub, parent in (("p", None), ("c", "p")):
        stores.distributors.create(
            SHOP, DistributorRecord(distributor_id=sub, status="approved", parent_id=parent)
        )
    stores.links.create(SHOP, LinkRecord("code-c", "c", None, "2026-11-01T00:00:00Z"))
    return stores


@pytest.fixture
def faults(monkeypatch) -> Faults:
    return Faults(monkeypatch)


def payment(order_id: str = "o-1", amount: int = 10_000) -> orders.Payment:
    return orders.Payment(
        shop=SHOP,
        order_id=order_id,
        customer_id="buyer",
        currency="CNY",
        code="code-c",
        occurred_at="2026-11-11T00:00:05Z",
        lines=[domain.PaidLine("l-1", "x", amount)],
    )


def refund(refund_id: str, amount: int, order_id: str = "o-1") -> orders.RefundFacts:
    return orders.RefundFacts(SHOP, order_id, refund_id, "2026-11-12T00:00:00Z", {"l-1": amount})


def amounts(st: Stores, sub: str) -> tuple[int, int, int]:
    record = st.distributors.get(SHOP, sub)
    assert record is not None
    return record.pending, record.available, record.withdrawn


def reserved(st: Stores, sub: str) -> int:
    record = st.distributors.get(SHOP, sub)
    assert record is not None
    return record.reserved


def assert_exact(st: Stores, sub: str, entries: int) -> None:
    report = settlement.reconcile(SHOP, sub, st=st)
    assert report.consistent and report.journal_groups == 0 and report.entry_count == entries, report


def later(monkeypatch, seconds: float) -> None:
    moment = clock.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_a_payment_posts_each_group_once_and_duplicates_change_nothing(st):
    orders.on_paid(payment(), st=st)
    orders.on_paid(payment(), st=st)
    orders.on_refunded(refund("r-1", 2500), st=st)
    orders.on_refunded(refund("r-1", 2500), st=st)
    orders.on_paid(payment(), st=st)
    assert amounts(st, "c") == (750, 0, 0) and amounts(st, "p") == (375, 0, 0)
    assert_exact(st, "c", 2)
    assert_exact(st, "p", 2)
    record = st.orders.get(SHOP, "o-1")
    assert record is not None
    assert set(record.applied) == {"acc#t1", "acc#t2", "ref#r-1#t1", "ref#r-1#t2"}
    # posted = every entry in the ledger; the claims stay (no done mark is written)
    assert all(isinstance(mark, Claim) for mark in record.applied.values())
    assert posting._unposted(SHOP, domain.ledger.groups(record.order), st) == []


def test_a_first_delivery_writes_the_order_the_balances_and_the_entries_only(st, monkeypatch):
    calls: list[str] = []
    for repo, method in (
        ("orders", "save"),
        ("orders", "claim_group"),
        ("orders", "mark_done"),
        ("distributors", "write_balance"),
        ("distributors", "finish_group"),
        ("ledger", "put_many"),
        ("ledger", "put_entries"),
    ):
        real = getattr(getattr(st, repo), method)

        def counted(*args, _real=real, _name=f"{repo}.{method}", **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(getattr(st, repo), method, counted)
    orders.on_paid(payment(), st=st)
    assert calls == [
        "orders.save",
        "distributors.write_balance",
        "distributors.write_balance",
        "ledger.put_many",
    ]


def test_finished_groups_leave_the_journal_in_the_next_balance_write(st, monkeypatch):
    orders.on_paid(payment("o-1"), st=st)
    record = st.distributors.get(SHOP, "c")
    assert record is not None and list(record.journal) == ["o-1|acc#t1"]  # finished, not dropped yet
    orders.on_paid(payment("o-2"), st=st)
    record = st.distributors.get(SHOP, "c")
    assert record is not None and list(record.journal) == ["o-2|acc#t1"]
    posting._FINISHED.clear()  # another process finished o-2: this one does not know
    orders.on_paid(payment("o-3"), st=st)
    record = st.distributors.get(SHOP, "c")
    assert record is not None and set(record.journal) == {"o-2|acc#t1", "o-3|acc#t1"}
    posting._FINISHED.clear()
    later(monkeypatch, posting.CLAIM_SECONDS + 1)  # stale: checked against the ledger, dropped
    orders.on_paid(payment("o-4"), st=st)
    record = st.distributors.get(SHOP, "c")
    assert record is not None and list(record.journal) == ["o-4|acc#t1"]
    assert amounts(st, "c") == (4000, 0, 0)
    assert_exact(st, "c", 4)


def test_a_refund_before_its_payment_is_reversed_when_the_payment_arrives(st):
    orders.on_refunded(refund("r-1", 10_000), st=st)
    assert amounts(st, "c") == (0, 0, 0)
    orders.on_paid(payment(), st=st)
    assert amounts(st, "c") == (0, 0, 0) and amounts(st, "p") == (0, 0, 0)
    assert_exact(st, "c", 2)


def test_a_balance_write_whose_answer_was_lost_is_posted_once_by_the_retry(st, faults):
    fired = faults.lose_answer(st.distributors, "write_balance")
    with pytest.raises(ConnectionError):
        orders.on_paid(payment(), st=st)
    assert fired and amounts(st, "c") == (1000, 0, 0)  # applied, though the delivery failed
    record = st.orders.get(SHOP, "o-1")
    assert record is not None and record.applied == {}  # the delivery gave its claims back
    orders.on_paid(payment(), st=st)  # the redelivery finds the group in the journal
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)
    assert_exact(st, "c", 1)
    assert_exact(st, "p", 1)


def test_an_order_save_retried_after_a_lost_answer_recognises_its_own_claims(st, monkeypatch):
    """The client retries a save whose answer was lost: the retry meets its own claim token
    and succeeds, so the delivery posts at once instead of waiting for its own claim."""
    real = st.orders.save
    seen: list[bool] = []

    def retried(*args, **kwargs):
        seen.append(real(*args, **kwargs))  # applied; the answer never arrives
        return real(*args, **kwargs)  # the retry

    monkeypatch.setattr(st.orders, "save", retried)
    orders.on_paid(payment(), st=st)
    assert seen == [True]
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)


def test_a_save_conflicting_with_another_delivery_is_refused(st):
    orders.on_paid(payment(), st=st)
    record = st.orders.get(SHOP, "o-1")
    assert record is not None
    stale = posting.new_claim(clock.epoch(clock.now()))
    assert not st.orders.save(record.order, 0, 0, {"acc#t1": stale})  # not new any more
    assert not st.orders.save(record.order, record.order.version - 1, 0, {"acc#t1": stale})


@pytest.mark.parametrize(
    ("repo", "method"),
    [
        ("distributors", "write_balance"),
        ("ledger", "put_many"),
    ],
)
def test_a_crash_between_writes_is_finished_by_the_retry_exactly_once(st, faults, repo, method):
    fired = faults.crash(getattr(st, repo), method)
    with pytest.raises(ConnectionError):
        orders.on_paid(payment(), st=st)
    assert fired
    for sub in ("c", "p"):  # whatever was applied, the balance agrees with ledger + journal
        assert settlement.reconcile(SHOP, sub, st=st).consistent
    orders.on_paid(payment(), st=st)
    orders.on_paid(payment(), st=st)
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)
    assert_exact(st, "c", 1)
    assert_exact(st, "p", 1)


def test_a_crash_between_the_balance_and_the_ledger_leaves_the_group_in_the_journal(st, faults):
    faults.crash(st.ledger, "put_many")
    with pytest.raises(ConnectionError):
        orders.on_paid(payment(), st=st)
    report = settlement.reconcile(SHOP, "c", st=st)
    assert report.consistent and report.journal_groups == 1 and report.entry_count == 0
    assert posting.flush_journal(SHOP, "c", older_than_seconds=0, st=st) == 1  # an operator's repair
    assert_exact(st, "c", 1)
    orders.on_paid(payment(), st=st)  # the message comes back: nothing twice
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)
    assert_exact(st, "c", 1)


def test_a_claim_left_by_a_crashed_delivery_holds_redeliveries_until_it_expires(st, faults, monkeypatch):
    monkeypatch.setattr(st.orders, "release_group", lambda *a, **k: None)  # no chance to clean up
    faults.crash(st.ledger, "put_many", SystemExit("killed"))
    with pytest.raises(SystemExit):
        orders.on_paid(payment(), st=st)
    with pytest.raises(posting.GroupsHeld):  # an immediate redelivery must not ack
        orders.on_paid(payment(), st=st)
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)  # both in journals
    later(monkeypatch, posting.CLAIM_SECONDS + 1)
    orders.on_paid(payment(), st=st)
    assert amounts(st, "c") == (1000, 0, 0) and amounts(st, "p") == (500, 0, 0)
    assert_exact(st, "c", 1)
    assert_exact(st, "p", 1)


def test_an_old_journal_group_is_flushed_by_the_next_posting_to_the_balance(st, faults, monkeypatch):
    faults.crash(st.ledger, "put_many")
    with pytest.raises(ConnectionError):
        orders.on_paid(payment("o-1"), st=st)  # never redelivered
    later(monkeypatch, posting.CLAIM_SECONDS + 60)
    orders.on_paid(payment("o-2"), st=st)
    assert amounts(st, "c") == (2000, 0, 0)
    assert_exact(st, "c", 2)


def test_settlement_posts_once_and_a_rerun_moves_nothing(st, monkeypatch):
    orders.on_paid(payment(), st=st)
    later(monkeypatch, 30 * 86400)
    first = settlement.settle(SHOP, st=st)
    assert (first.settled_count, first.settled_amount, first.has_more) == (2, 1500, False)
    assert settlement.settle(SHOP, st=st).settled_count == 0
    assert amounts(st, "c") == (0, 1000, 0) and amounts(st, "p") == (0, 500, 0)
    assert_exact(st, "c", 2)


# ---- withdrawals -------------------------------------------------------------------------------


@pytest.fixture
def funded(st) -> Stores:
    record = st.distributors.get(SHOP, "c")
    assert record is not None
    entry = domain.Entry("seed", "settlement", "2026-11-11T00:00:00Z", "CNY", 1000, available=1000)
    posting.apply_group(SHOP, "c", "seed", (entry,), st=st)
    st.ledger.put_entries(SHOP, "c", [entry])
    st.distributors.finish_group(SHOP, "c", "seed")
    return st


def test_a_withdrawal_is_refused_beyond_the_available_amount(funded):
    with pytest.raises(Conflict) as refused:
        withdrawals.withdraw(SHOP, "c", 1001, st=funded)
    assert refused.value.code == "insufficient_balance"
    done = withdrawals.withdraw(SHOP, "c", 600, st=funded)
    assert done.available_amount == 400 and amounts(funded, "c") == (0, 400, 0)
    assert done.status == "pending_review" and reserved(funded, "c") == 600
    assert_exact(funded, "c", 2)


def test_a_withdrawal_retried_with_its_key_pays_once_even_after_a_crash(funded, faults):
    first = withdrawals.withdraw(SHOP, "c", 300, "k-1", st=funded)
    assert withdrawals.withdraw(SHOP, "c", 300, "k-1", st=funded) == first
    with pytest.raises(Conflict) as reused:
        withdrawals.withdraw(SHOP, "c", 301, "k-1", st=funded)
    assert reused.value.code == "idempotency_key_reused"
    faults.crash(funded.ledger, "put_entries")
    with pytest.raises(ConnectionError):
        withdrawals.withdraw(SHOP, "c", 200, "k-2", st=funded)  # the balance is debited
    retried = withdrawals.withdraw(SHOP, "c", 200, "k-2", st=funded)
    assert withdrawals.withdraw(SHOP, "c", 200, "k-2", st=funded) == retried
    assert retried.available_amount == 500 and amounts(funded, "c") == (0, 500, 0)
    assert reserved(funded, "c") == 500
    assert_exact(funded, "c", 3)


def test_a_withdrawal_whose_balance_write_answer_was_lost_completes_on_retry(funded, faults):
    faults.lose_answer(funded.distributors, "write_balance")
    with pytest.raises(ConnectionError):
        withdrawals.withdraw(SHOP, "c", 700, "k-1", st=funded)
    again = withdrawals.withdraw(SHOP, "c", 700, "k-1", st=funded)
    assert again.amount == 700 and amounts(funded, "c") == (0, 300, 0) and reserved(funded, "c") == 700
    assert_exact(funded, "c", 2)


def test_a_racing_withdrawal_makes_the_loser_reread_and_never_overdraw(funded, monkeypatch):
    real = funded.distributors.write_balance
    raced: list[object] = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append(None)
            raced[0] = withdrawals.withdraw(SHOP, "c", 1000, st=funded)  # lands between read and write
        return real(*args, **kwargs)

    monkeypatch.setattr(funded.distributors, "write_balance", racing)
    with pytest.raises(Conflict) as lost:
        withdrawals.withdraw(SHOP, "c", 1000, st=funded)
    assert lost.value.code == "insufficient_balance" and amounts(funded, "c") == (0, 0, 0)
    assert reserved(funded, "c") == 1000


def test_a_suspended_distributor_cannot_withdraw(funded):
    funded.distributors.set_status(SHOP, "c", "suspended", "2026-11-20T00:00:00Z")
    with pytest.raises(Conflict) as refused:
        withdrawals.withdraw(SHOP, "c", 1, st=funded)
    assert refused.value.code == "distributor_suspended" and amounts(funded, "c") == (0, 1000, 0)


def test_a_remembered_inviter_that_proves_wrong_is_read_again(st):
    orders.on_paid(payment("o-1"), st=st)  # remembers c's inviter p
    other = fake_stores()  # another table where c was invited by q
    other.shops.put_rules(SHOP, st.shops.get_rules(SHOP))
    for sub, parent in (("q", None), ("p", None), ("c", "q")):
        other.distributors.create(
            SHOP, DistributorRecord(distributor_id=sub, status="approved", parent_id=parent)
        )
    other.links.create(SHOP, LinkRecord("code-c", "c", None, "2026-11-01T00:00:00Z"))
    orders.on_paid(payment("o-1"), st=other)
    assert amounts(other, "q") == (500, 0, 0) and amounts(other, "p") == (0, 0, 0)
    assert amounts(other, "c") == (1000, 0, 0)
