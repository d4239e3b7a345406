"""Property tests: random sequences of payments, partial and full refunds and settlements,
delivered with duplicates and in any order, through the same recording and posting rules
the consumer uses (an in-memory ledger stands in for DynamoDB).

Properties: tier 1 + tier 2 never exceed paid_amount x rates; no entry is negative where it
should not be; balances equal the sums of the ledger; a fully refunded order nets exactly
zero; the net result does not depend on delivery order or duplicates.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.distribution import domain
from chalicelib.distribution.domain import ledger

PAID_AT = "2026-11-11T00:00:00Z"


class World:
    """The consumer's logic over dicts: facts recorded once per business key, groups posted once."""

    def __init__(self, rules: domain.Rules, lines: list[domain.PaidLine]) -> None:
        self.rules = rules
        self.lines = lines
        self.order = ledger.new_order("s1", "o-1")
        self.applied: set[str] = set()
        self.entries: dict[str, tuple[str, domain.Entry]] = {}
        self.balances: dict[str, dict[str, int]] = {}

    def deliver(self, message: tuple) -> None:
        kind = message[0]
        if kind == "paid" and self.order.state == ledger.UNPAID:
            self.order = ledger.record_paid(
                self.order,
                attribution=domain.Attribution(None, "c", "p"),
                rules=self.rules,
                lines=self.lines,
                customer_id="buyer",
                currency="CNY",
                code="k",
                paid_at=PAID_AT,
                settle_due_at=PAID_AT,
            )
        elif kind == "refund" and message[1] not in self.order.refunds:
            self.order = ledger.record_refund(self.order, message[1], "2026-11-12T00:00:00Z", message[2])
        elif kind == "settle" and ledger.is_due(self.order, "2026-12-01T00:00:00Z"):
            self.order = ledger.settle(self.order, "2026-12-01T00:00:00Z")
        self.post()

    def post(self) -> None:
        for group in ledger.groups(self.order):
            if group.key in self.applied:
                continue
            self.applied.add(group.key)
            balance = self.balances.setdefault(group.distributor_id, {})
            self.balances[group.distributor_id] = domain.add_entries(balance, group.entries)
            for entry in group.entries:
                assert entry.entry_id not in self.entries, "an entry was posted twice"
                self.entries[entry.entry_id] = (group.distributor_id, entry)

    def ledger_sums(self, distributor: str) -> dict[str, int]:
        return domain.sum_entries([e for owner, e in self.entries.values() if owner == distributor])


line_amounts = st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=4)


@st.composite
def scenarios(draw):
    amounts = draw(line_amounts)
    lines = [
        domain.PaidLine(line_id=f"l{i}", product_id=f"p{i % 2}", paid_amount=a) for i, a in enumerate(amounts)
    ]
    r1 = draw(st.integers(min_value=1, max_value=10_000))
    r2 = draw(st.integers(min_value=0, max_value=10_000 - r1))
    product = draw(st.integers(min_value=0, max_value=10_000 - r2))
    rules = domain.Rules(default_rate_bps=r1, parent_rate_bps=r2, product_rates_bps={"p1": product})
    full = draw(st.booleans())
    refunds = []
    if full:  # split every line's full amount over 1..3 refunds (some over-refunding)
        parts = draw(st.integers(min_value=1, max_value=3))
        for k in range(parts):
            refund = {}
            for line in lines:
                share = line.paid_amount // parts + (line.paid_amount % parts if k == parts - 1 else 0)
                refund[line.line_id] = share + draw(st.integers(min_value=0, max_value=3))
            refunds.append((f"r{k}", refund))
    else:
        for k in range(draw(st.integers(min_value=0, max_value=3))):
            refund = {
                line.line_id: draw(st.integers(min_value=0, max_value=line.paid_amount // 2 + 1))
                for line in lines
                if draw(st.booleans())
            }
            if refund:
                refunds.append((f"r{k}", refund))
    messages = [("paid",), ("settle",)] + [("refund", rid, amounts) for rid, amounts in refunds]
    # duplicates: some messages delivered again; then any order
    messages += [m for m in messages if draw(st.booleans())]
    order = draw(st.permutations(messages))
    return rules, lines, refunds, full, list(order)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_ledger_properties_under_duplicates_and_reordering(scenario):
    rules, lines, refunds, full, messages = scenario
    world = World(rules, lines)
    for message in messages:
        world.deliver(message)
    world.deliver(("paid",))  # whatever came first, the payment is eventually seen

    priced = {line.line_id: line for line in world.order.lines}
    for line in priced.values():
        bound = domain.accrual(line.paid_amount, line.tier1_rate_bps + line.tier2_rate_bps)
        assert line.tier1_accrual + line.tier2_accrual <= bound
        assert line.tier1_accrual == line.paid_amount * line.tier1_rate_bps // 10_000

    taken: dict[tuple[str, int], int] = {}
    for _, entry in world.entries.values():
        assert entry.amount >= 0
        if entry.kind in ("reversal", "clawback"):
            assert entry.line_id is not None and entry.tier is not None
            key = (entry.line_id, entry.tier)
            taken[key] = taken.get(key, 0) + entry.amount
    for (line_id, tier), amount in taken.items():
        assert amount <= priced[line_id].accrual(tier), "more reversed than accrued"

    for distributor, balance in world.balances.items():
        assert balance == world.ledger_sums(distributor)
        assert balance["pending"] >= 0 and balance["earned"] >= 0

    # the net does not depend on order: it is what the total refunds leave of each accrual
    refunded: dict[str, int] = {}
    for _, amounts in refunds:
        for line_id, amount in amounts.items():
            refunded[line_id] = refunded.get(line_id, 0) + amount
    for tier, distributor in ((1, "c"), (2, "p")):
        expected = sum(
            line.accrual(tier)
            - domain.reversed_part(line.accrual(tier), refunded.get(lid, 0), line.paid_amount)
            for lid, line in priced.items()
        )
        balance = world.balances.get(distributor, {"pending": 0, "available": 0, "earned": 0})
        assert balance["pending"] + balance["available"] == expected == balance["earned"]
        if full:
            assert balance["pending"] == 0 and balance["available"] == 0 and balance["earned"] == 0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=6),
)
def test_cumulative_reversals_never_exceed_and_end_exactly(paid, accrued_seed, refunds):
    accrued = accrued_seed % (paid + 1)
    total, taken = 0, 0
    for amount in refunds:
        total += amount
        step = domain.reversed_part(accrued, total, paid) - taken
        assert step >= 0
        taken += step
    assert taken <= accrued
    assert taken + (accrued - domain.reversed_part(accrued, total, paid)) == accrued
    if total >= paid:
        assert taken == accrued
