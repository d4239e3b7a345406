"""Commission arithmetic, attribution and rules, without AWS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.distribution import domain
from chalicelib.distribution.domain import ledger
from chalicelib.distribution.domain import withdrawals as flow

RULES = domain.Rules(default_rate_bps=1000, parent_rate_bps=500, product_rates_bps={"hot": 2000})
APPROVED = domain.Member("c", "approved")
PARENT = domain.Member("p", "approved")


def test_accrual_is_floor_per_line():
    assert domain.accrual(999, 1000) == 99
    assert domain.accrual(1, 9999) == 0
    assert domain.accrual(10**12, 10000) == 10**12
    lines = domain.priced_lines(
        RULES,
        [
            domain.PaidLine(line_id="a", product_id="x", paid_amount=1005),
            domain.PaidLine(line_id="b", product_id="hot", paid_amount=1005),
        ],
        True,
    )
    assert [(line.tier1_accrual, line.tier2_accrual) for line in lines] == [(100, 50), (201, 50)]


def test_tier2_only_where_tier1_earns_and_a_parent_exists():
    rules = domain.Rules(default_rate_bps=0, parent_rate_bps=500, product_rates_bps={"x": 100})
    assert domain.line_rates(rules, "x", True) == (100, 500)
    assert domain.line_rates(rules, "y", True) == (0, 0)
    assert domain.line_rates(rules, "x", False) == (100, 0)


@pytest.mark.parametrize(
    ("default", "parent", "products", "ok"),
    [
        (1000, 500, {}, True),
        (0, 0, {}, True),
        (0, 500, {}, False),
        (0, 500, {"x": 0}, False),
        (0, 500, {"x": 100}, True),
        (9500, 500, {}, True),
        (9500, 501, {}, False),
        (100, 500, {"x": 9600}, False),
    ],
)
def test_rules_problems(default, parent, products, ok):
    assert (domain.rules_problem(default, parent, products) is None) is ok


def test_reversed_part_is_cumulative_floor_and_capped():
    assert domain.reversed_part(99, 333, 999) == 33
    assert domain.reversed_part(99, 999, 999) == 99
    assert domain.reversed_part(99, 5000, 999) == 99
    assert domain.reversed_part(0, 10, 10) == 0
    assert domain.reversed_part(5, 1, 0) == 0


def test_attribution_cases():
    def attr(owner=APPROVED, parent=PARENT, customer="buyer", currency="CNY", rules=RULES):
        return domain.attribute(
            rules=rules, customer_id=customer, currency=currency, owner=owner, parent=parent
        )

    assert attr() == domain.Attribution(None, "c", "p")
    assert attr(owner=None).reason == domain.UNKNOWN_CODE
    assert attr(owner=replace(APPROVED, status="pending")).reason == domain.INACTIVE_CODE
    assert attr(owner=replace(APPROVED, status="suspended")).reason == domain.INACTIVE_CODE
    assert attr(customer="c").reason == domain.SELF_PURCHASE
    assert attr(currency="USD").reason == domain.CURRENCY_MISMATCH
    assert attr(parent=replace(PARENT, status="suspended")) == domain.Attribution(None, "c", None)
    assert attr(customer="p") == domain.Attribution(None, "c", None)  # the parent buying earns no tier 2
    allowed = domain.Rules(default_rate_bps=1000, self_purchase_commission=True)
    assert attr(customer="c", rules=allowed) == domain.Attribution(None, "c", "p")


def _paid(lines, refunds=()):
    order = ledger.new_order("s1", "o-1")
    for refund_id, amounts in refunds:
        order = ledger.record_refund(order, refund_id, "2026-11-10T00:00:00Z", amounts)
    return ledger.record_paid(
        order,
        attribution=domain.Attribution(None, "c", "p"),
        rules=RULES,
        lines=[domain.PaidLine(line_id=lid, product_id="x", paid_amount=amt) for lid, amt in lines],
        customer_id="buyer",
        currency="CNY",
        code="code",
        paid_at="2026-11-11T00:00:00Z",
        settle_due_at="2026-11-18T00:00:00Z",
    )


def _net(order, distributor):
    entries = [e for g in ledger.groups(order) if g.distributor_id == distributor for e in g.entries]
    return domain.sum_entries(entries)


def test_refund_recorded_before_payment_counts_as_before_settlement():
    order = _paid([("l-1", 1000)], refunds=[("r-1", {"l-1": 400})])
    assert order.refunds["r-1"].phase == ledger.PRE
    assert _net(order, "c")["pending"] == 100 - 40
    keys = [g.key for g in ledger.groups(order) if g.distributor_id == "c"]
    assert keys == ["acc#t1", "ref#r-1#t1"]


def test_settlement_then_clawback_entries_and_rows():
    order = ledger.settle(_paid([("l-1", 1000)], refunds=[("r-1", {"l-1": 250})]), "2026-11-20T00:00:00Z")
    assert ledger.settled_totals(order) == (2, 75 + 38)  # 100-25 tier 1, 50-12 tier 2
    order = ledger.record_refund(order, "r-2", "2026-11-21T00:00:00Z", {"l-1": 750})
    assert order.refunds["r-2"].phase == ledger.POST
    assert _net(order, "c") == {"pending": 0, "available": 0, "withdrawn": 0, "earned": 0, "reserved": 0}
    (row,) = [r for r in ledger.rows(order) if r.tier == 1]
    assert (row.status, row.reversed_amount, row.clawback_amount, row.amount) == (
        "clawed_back",
        25,
        75,
        0,
    )
    with pytest.raises(ValueError):
        ledger.settle(order, "2026-11-22T00:00:00Z")
    with pytest.raises(ValueError):
        ledger.record_refund(order, "r-2", "2026-11-21T00:00:00Z", {"l-1": 1})


def test_refund_anomalies_report_unknown_lines_and_capped_amounts():
    order = _paid([("l-1", 1000)], refunds=[("r-1", {"l-1": 800})])
    order = ledger.record_refund(order, "r-2", "2026-11-12T00:00:00Z", {"l-1": 500, "l-9": 10})
    assert ledger.refund_anomalies(order, "r-2") == domain.RefundAnomalies(
        unknown_lines=["l-9"], capped_amount=300
    )
    assert ledger.refund_anomalies(order, "r-1") == domain.RefundAnomalies(unknown_lines=[], capped_amount=0)


def test_unattributed_or_zero_commission_orders_have_no_entries():
    order = ledger.record_paid(
        ledger.new_order("s1", "o"),
        attribution=domain.Attribution(domain.UNKNOWN_CODE),
        rules=RULES,
        lines=[domain.PaidLine(line_id="l", product_id="x", paid_amount=100)],
        customer_id="b",
        currency="CNY",
        code="zz",
        paid_at="2026-11-11T00:00:00Z",
        settle_due_at="2026-11-18T00:00:00Z",
    )
    assert order.state == ledger.UNATTRIBUTED and ledger.groups(order) == [] and ledger.rows(order) == []
    tiny = _paid([("l-1", 9)])
    assert tiny.state == ledger.UNATTRIBUTED and tiny.reason == domain.NO_COMMISSION


def test_withdrawal_entries_and_rank_key():
    at = "2026-11-11T00:00:00Z"
    request = flow.request_entry("w1", 500, at, "CNY")
    zero = dict.fromkeys(domain.BUCKETS, 0)
    assert domain.sum_entries([request]) == {**zero, "available": -500, "reserved": 500}
    paid = flow.money_entry("w1", flow.PAYOUT, 500, at, "CNY")
    assert domain.sum_entries([request, paid]) == {**zero, "available": -500, "withdrawn": 500}
    released = flow.money_entry("w1", flow.RELEASE, 500, at, "CNY")
    assert domain.sum_entries([request, released]) == zero  # returned exactly
    assert flow.withdrawal_of_group(paid.entry_id) == "w1" and flow.withdrawal_of_group("o-1|acc#t1") is None
    with pytest.raises(ValueError):
        flow.request_entry("w2", 0, at, "CNY")
    assert domain.rank_key(120, "a") > domain.rank_key(99, "b") > domain.rank_key(-5, "c")


def test_settlement_as_of_refuses_the_future_beyond_a_small_skew():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
    assert domain.settlement_as_of(None, now) == now
    past = now - timedelta(days=3)
    assert domain.settlement_as_of(past, now) == past
    # a clock a few seconds fast is settled as of now (nothing due later is settled early)
    assert domain.settlement_as_of(now + domain.AS_OF_SKEW, now) == now
    for future in (now + domain.AS_OF_SKEW + timedelta(seconds=1), now + timedelta(days=8)):
        with pytest.raises(ValueError, match="future"):
            domain.settlement_as_of(future, now)


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("approved", None),
        ("suspended", "distributor_suspended"),
        ("pending", "distributor_not_approved"),
        (None, "distributor_not_approved"),
    ],
)
def test_only_approved_distributors_may_withdraw(status, refusal):
    found = domain.withdrawal_refusal(status)
    assert (found[0] if found else None) == refusal


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("pending_review", "approve", "approved"),
        ("pending_review", "reject", "rejected"),
        ("approved", "pay", "paid"),
        ("approved", "fail", "failed"),
        ("approved", "approve", None),  # already: idempotent
        ("paid", "approve", None),
        ("rejected", "reject", None),
        ("paid", "pay", None),
        ("failed", "fail", None),
        ("rejected", "approve", "refused"),
        ("pending_review", "pay", "refused"),
        ("paid", "fail", "refused"),
        ("failed", "pay", "refused"),
        ("approved", "reject", "refused"),
        ("completed", "approve", "refused"),
    ],
)
def test_the_withdrawal_workflow_allows_exactly_its_transitions(status, action, expected):
    if expected == "refused":
        with pytest.raises(flow.TransitionRefused):
            flow.plan(status, action)
        return
    step = flow.plan(status, action)
    assert (step.target if step else None) == expected


def test_a_request_is_refused_below_the_minimum_and_above_available():
    assert flow.request_problem(99, 100, 1000)[0] == "below_minimum"
    assert flow.request_problem(1001, 100, 1000)[0] == "insufficient_balance"
    assert flow.request_problem(100, 100, -50)[0] == "insufficient_balance"  # after a clawback
    assert flow.request_problem(1000, 100, 1000) is None


@pytest.mark.parametrize(
    ("reference", "masked"),
    [
        ("6222021234567890123", "****0123"),
        ("wxid_abcdefgh", "****efgh"),
        ("abc12345", "****2345"),
        ("a@b.cn", "****n"),
        ("1234", "****4"),
        ("123", "****"),
    ],
)
def test_account_references_are_masked(reference, masked):
    assert flow.mask_account(reference) == masked
