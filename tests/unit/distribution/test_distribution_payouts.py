"""The withdrawal workflow on in-memory repositories: request (available -> reserved), review
(approve, reject, pay, fail), money returned or paid exactly once, with repeated and racing
transitions, crashes between the writes and requests that die holding the claim."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest
from chalicelib.distribution import domain
from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.store.records import DistributorRecord, Done, RulesRecord
from chalicelib.distribution.usecases import Stores, payouts, posting, settlement, withdrawals

from .fakes import Faults, fake_stores

SHOP = "s1"


@pytest.fixture
def st() -> Stores:
    stores = fake_stores()
    rules = domain.Rules(default_rate_bps=1000, auto_approve=True, min_withdrawal_amount=100)
    stores.shops.put_rules(SHOP, RulesRecord(rules, "2026-11-01T00:00:00Z"))
    stores.distributors.create(SHOP, DistributorRecord(distributor_id="c", status="approved"))
    entry = domain.Entry("seed", "settlement", "2026-11-11T00:00:00Z", "CNY", 1000, available=1000)
    posting.apply_group(SHOP, "c", "seed", (entry,), st=stores)
    stores.ledger.put_entries(SHOP, "c", [entry])
    stores.distributors.finish_group(SHOP, "c", "seed")
    return stores


@pytest.fixture
def faults(monkeypatch) -> Faults:
    return Faults(monkeypatch)


def buckets(st: Stores) -> tuple[int, int, int]:
    """(available, reserved, withdrawn) of ``c``."""
    record = st.distributors.get(SHOP, "c")
    assert record is not None
    return record.available, record.reserved, record.withdrawn


def kinds(st: Stores) -> list[str]:
    return sorted(e.kind for e in st.ledger.all_entries(SHOP, "c"))


def exact(st: Stores) -> None:
    report = settlement.reconcile(SHOP, "c", st=st)
    assert report.consistent and report.journal_groups == 0, report


def snapshot(st: Stores) -> object:
    return copy.deepcopy((st.distributors.items, st.withdrawals.items, st.ledger.entries))


def request(st: Stores, amount: int = 600) -> str:
    made = withdrawals.withdraw(SHOP, "c", amount, method="alipay", account="user@example.com", st=st)
    assert made.status == "pending_review" and made.account_masked == "****.com"
    return made.withdrawal_id


def act(st: Stores, wid: str, action: str, **kwargs) -> str:
    return payouts.transition(SHOP, "c", wid, action, st=st, **kwargs).status


def test_a_request_reserves_and_a_payout_moves_reserved_to_withdrawn_once(st):
    wid = request(st)
    assert buckets(st) == (400, 600, 0)
    assert act(st, wid, flow.APPROVE) == "approved"
    assert act(st, wid, flow.APPROVE) == "approved"  # idempotent
    assert buckets(st) == (400, 600, 0)
    assert act(st, wid, flow.PAY, reference="ALI-1") == "paid"
    for _ in range(2):
        assert act(st, wid, flow.PAY, reference="ALI-1") == "paid"
        assert act(st, wid, flow.APPROVE) == "paid"  # the approval was given
    with pytest.raises(Conflict) as other:
        act(st, wid, flow.PAY, reference="ALI-2")
    assert other.value.code == "already_paid"
    assert buckets(st) == (400, 0, 600)
    assert kinds(st) == ["settlement", "withdrawal", "withdrawal_payout"]
    record = st.withdrawals.get(SHOP, "c", wid)
    assert record is not None and record.payout_reference == "ALI-1" and isinstance(record.posting, Done)
    exact(st)


@pytest.mark.parametrize("path", [[flow.REJECT], [flow.APPROVE, flow.FAIL]])
def test_a_rejected_or_failed_request_returns_the_money_exactly(st, path):
    wid = request(st, 333)
    for action in path:
        kwargs = {"reason": "account closed"} if action != flow.APPROVE else {}
        act(st, wid, action, **kwargs)
        act(st, wid, action, **kwargs)  # repeated: nothing more
    assert buckets(st) == (1000, 0, 0)
    assert kinds(st) == ["settlement", "withdrawal", "withdrawal_release"]
    exact(st)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([flow.REJECT], flow.APPROVE),
        ([flow.REJECT], flow.PAY),
        ([], flow.PAY),
        ([], flow.FAIL),
        ([flow.APPROVE, flow.PAY], flow.FAIL),
        ([flow.APPROVE, flow.FAIL], flow.PAY),
        ([flow.APPROVE], flow.REJECT),
    ],
)
def test_transitions_the_workflow_does_not_allow_write_nothing(st, path, refused):
    wid = request(st)
    for action in path:
        act(st, wid, action, reason="r", reference="ref")
    before = snapshot(st)
    with pytest.raises(Conflict) as error:
        act(st, wid, refused, reason="r", reference="ref")
    assert error.value.code == "invalid_transition"
    assert snapshot(st) == before


def test_requests_below_the_minimum_or_above_available_write_nothing(st):
    before = snapshot(st)
    with pytest.raises(InvalidRequest) as low:
        withdrawals.withdraw(SHOP, "c", 99, st=st)
    assert low.value.code == "below_minimum"
    with pytest.raises(Conflict) as high:
        withdrawals.withdraw(SHOP, "c", 1001, st=st)
    assert high.value.code == "insufficient_balance"
    assert snapshot(st) == before
    request(st, 1000)
    with pytest.raises(Conflict):  # everything is reserved: nothing is available
        withdrawals.withdraw(SHOP, "c", 100, st=st)
    assert buckets(st) == (0, 1000, 0)


def test_a_payment_racing_another_pays_once(st, monkeypatch):
    wid = request(st)
    act(st, wid, flow.APPROVE)
    real = st.withdrawals.transition
    raced: list[str] = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append("racing")
            raced[0] = act(st, wid, flow.PAY, reference="R")  # lands between our read and write
        return real(*args, **kwargs)

    monkeypatch.setattr(st.withdrawals, "transition", racing)
    assert act(st, wid, flow.PAY, reference="R") == "paid" and raced == ["paid"]
    assert buckets(st) == (400, 0, 600) and kinds(st).count("withdrawal_payout") == 1
    exact(st)


@pytest.mark.parametrize(
    ("repo", "method", "lose"),
    [
        ("distributors", "write_balance", False),
        ("distributors", "write_balance", True),
        ("ledger", "put_entries", False),
        ("withdrawals", "mark_posted", False),
        ("withdrawals", "mark_posted", True),
    ],
)
def test_a_transition_that_fails_midway_is_finished_once_by_its_repeat(st, faults, repo, method, lose):
    wid = request(st)
    act(st, wid, flow.APPROVE)
    target = getattr(st, repo)
    (faults.lose_answer if lose else faults.crash)(target, method)
    with pytest.raises(ConnectionError):
        act(st, wid, flow.PAY, reference="R")
    assert act(st, wid, flow.PAY, reference="R") == "paid"
    assert act(st, wid, flow.PAY, reference="R") == "paid"
    assert buckets(st) == (400, 0, 600) and kinds(st).count("withdrawal_payout") == 1
    exact(st)


def test_a_request_that_dies_holding_the_claim_is_taken_over_after_it_expires(st, monkeypatch):
    wid = request(st)
    monkeypatch.setattr(st.withdrawals, "release", lambda *a, **k: None)  # the process dies: no release

    def die(*args, **kwargs):
        raise SystemExit("killed")

    real = st.distributors.write_balance
    monkeypatch.setattr(st.distributors, "write_balance", die)
    with pytest.raises(SystemExit):
        act(st, wid, flow.REJECT, reason="duplicate request")
    monkeypatch.setattr(st.distributors, "write_balance", real)
    assert act(st, wid, flow.REJECT, reason="duplicate request") == "rejected"  # claim still live
    assert buckets(st) == (400, 600, 0)
    moment = clock.now() + timedelta(seconds=posting.CLAIM_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert act(st, wid, flow.REJECT, reason="duplicate request") == "rejected"
    assert buckets(st) == (1000, 0, 0) and kinds(st).count("withdrawal_release") == 1
    exact(st)


def test_a_posting_left_in_the_journal_is_finished_by_the_flush_and_never_posted_again(st, monkeypatch):
    wid = request(st)
    act(st, wid, flow.APPROVE)
    monkeypatch.setattr(st.withdrawals, "release", lambda *a, **k: None)

    def die(*args, **kwargs):
        raise SystemExit("killed after the balance write")

    real = st.ledger.put_entries
    monkeypatch.setattr(st.ledger, "put_entries", die)
    with pytest.raises(SystemExit):
        act(st, wid, flow.PAY, reference="R")
    monkeypatch.setattr(st.ledger, "put_entries", real)
    moment = clock.now() + timedelta(seconds=posting.CLAIM_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert posting.flush_journal(SHOP, "c", st=st) == 1
    assert act(st, wid, flow.PAY, reference="R") == "paid"
    assert buckets(st) == (400, 0, 600) and kinds(st).count("withdrawal_payout") == 1
    exact(st)


def test_the_queue_lists_by_status_and_date_and_exports_csv(st, monkeypatch):
    first = request(st, 100)
    moment = clock.now() + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    second = withdrawals.withdraw(SHOP, "c", 200, method="bank", account="6222021234567890123", st=st)
    query = payouts.models.DistributionWithdrawalQuery
    page = payouts.queue(SHOP, query(), st=st)
    assert [w.withdrawal_id for w in page.items] == [first, second.withdrawal_id]
    until = clock.iso(moment - timedelta(hours=1))
    assert [w.withdrawal_id for w in payouts.queue(SHOP, query(created_to=until), st=st).items] == [first]
    act(st, first, flow.APPROVE)
    assert [w.withdrawal_id for w in payouts.queue(SHOP, query(status="approved"), st=st).items] == [first]
    text = payouts.export_csv(SHOP, query(), st=st)
    lines = text.strip().split("\n")
    assert lines[0] == ",".join(payouts.CSV_COLUMNS)
    assert len(lines) == 2 and lines[1].startswith(
        f"{second.withdrawal_id},c,200,CNY,bank,****0123,pending_review,"
    )
    assert "6222021234567890123" not in text
    act(st, first, flow.PAY, reference="=HYPERLINK(evil)")
    paid = payouts.export_csv(SHOP, query(status="paid"), st=st).strip().split("\n")
    assert paid[1].startswith(f"{first},c,100,CNY,alipay,****.com,paid,") and paid[1].endswith(
        ",'=HYPERLINK(evil)"
    )
    with pytest.raises(InvalidRequest):
        payouts.queue(
            SHOP, query(created_from="2026-12-31T00:00:00Z", created_to="2026-01-01T00:00:00Z"), st=st
        )
