"""Property test through the real consumer and table: random payments, partial and full
refunds and settlements, delivered with duplicates and in any order; balances always equal
the ledger's sums, and the net is what the refunds leave of each accrual (zero when full)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_shops = itertools.count()


@st.composite
def scenarios(draw):
    amounts = draw(st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=3))
    full = draw(st.booleans())
    refunds = []
    for k in range(draw(st.integers(min_value=1 if full else 0, max_value=3))):
        refund = {}
        for i, paid in enumerate(amounts):
            if full:
                refund[f"l-{i}"] = paid  # each refund could refund everything: capped after the first
            elif draw(st.booleans()):
                refund[f"l-{i}"] = draw(st.integers(min_value=1, max_value=paid))
        if refund:
            refunds.append((f"r-{k}", refund))
    messages = [("paid",), ("settle",)] + [("refund", rid, lines) for rid, lines in refunds]
    messages += [m for m in messages if draw(st.booleans())]
    return amounts, refunds, full, draw(st.permutations(messages))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_random_histories_keep_the_ledger_exact(dist, scenario):
    from chalicelib.distribution import domain

    amounts, refunds, full, messages = scenario
    shop = f"h{next(_shops)}"
    code, _ = dist.chain(shop)
    lines = [(f"l-{i}", paid) for i, paid in enumerate(amounts)]
    for message in messages:
        if message[0] == "paid":
            dist.send(dist.paid("o-1", code, lines, shop=shop))
        elif message[0] == "refund":
            dist.send(dist.refunded("o-1", message[1], list(message[2].items()), shop=shop))
        else:
            dist.settle("2030-01-01T00:00:00Z", shop=shop)
    dist.send(dist.paid("o-1", code, lines, shop=shop))

    refunded = {}
    for _, refund in refunds:
        for line_id, amount in refund.items():
            refunded[line_id] = refunded.get(line_id, 0) + amount
    for sub, bps in (("c", 1000), ("p", 500)):
        expected = 0
        for line_id, paid in lines:
            accrued = domain.accrual(paid, bps)
            expected += accrued - domain.reversed_part(accrued, refunded.get(line_id, 0), paid)
        balance = dist.balance(sub, shop=shop)
        assert balance["pending_amount"] + balance["available_amount"] == expected == balance["earned_amount"]
        if full:
            assert balance["pending_amount"] == balance["available_amount"] == 0
        report = dist.reconcile(sub, shop=shop)
        assert report["consistent"] and report["journal_groups"] == 0, report
        assert all(e["amount"] >= 0 for e in dist.ledger(sub, shop=shop, limit=200))
