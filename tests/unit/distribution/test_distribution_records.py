"""Stored records: the renamed fields are written under their new names and read under both
(items saved before the rename still load)."""

from __future__ import annotations

from chalicelib.distribution import domain
from chalicelib.distribution.store.records import (
    Claim,
    Done,
    OrderRecord,
    business_fields,
    line_from_dict,
    line_to_dict,
    mark_from_dict,
)

OLD_ORDER = {
    "pk": "order#s1#o-1",
    "sk": "order",
    "shop": "s1",
    "order_id": "o-1",
    "version": 2,
    "state": "paid",
    "customer_id": "buyer",
    "currency": "CNY",
    "code": "k",
    "tier1": "c",
    "tier2": "p",
    "paid_at": "2026-11-11T00:00:05Z",
    "settle_due_at": "2026-11-18T00:00:05Z",
    "lines": [
        {"line_id": "l-1", "product_id": "x", "paid": 10000, "r1": 1000, "r2": 500, "a1": 1000, "a2": 500}
    ],
    "refunds": {"r-1": {"seq": 1, "at": "2026-11-12T00:00:00Z", "lines": {"l-1": 2500}, "phase": "pre"}},
    "applied": {
        "acc#t1": {"s": "done", "at": "2026-11-11T00:00:06Z"},
        "acc#t2": {"s": "claimed", "t": "tok", "u": 1700000000},
    },
    "projected": 1,
}


def test_an_order_saved_before_the_rename_loads():
    record = OrderRecord.from_item(OLD_ORDER)
    (line,) = record.order.lines
    assert line == domain.PricedLine("l-1", "x", 10000, 1000, 500, 1000, 500)
    assert record.applied == {"acc#t1": Done("2026-11-11T00:00:06Z"), "acc#t2": Claim("tok", 1700000000)}
    assert record.order.refunds["r-1"] == domain.Refund(1, "2026-11-12T00:00:00Z", {"l-1": 2500}, "pre")
    assert record.order.version == 2  # an old item's "projected" (of commission rows) is ignored
    keys = [g.key for g in domain.ledger.groups(record.order)]
    assert keys == ["acc#t1", "ref#r-1#t1", "acc#t2", "ref#r-1#t2"]


def test_the_new_names_are_written_and_read_back():
    record = OrderRecord.from_item(OLD_ORDER)
    (stored,) = business_fields(record.order)["lines"]
    assert stored == {
        "line_id": "l-1",
        "product_id": "x",
        "paid_amount": 10000,
        "tier1_rate_bps": 1000,
        "tier2_rate_bps": 500,
        "tier1_accrual": 1000,
        "tier2_accrual": 500,
    }
    assert line_from_dict(line_to_dict(record.order.lines[0])) == record.order.lines[0]
    assert Claim("tok", 5).to_dict() == {"status": "claimed", "token": "tok", "until_epoch": 5}
    assert Done("t").to_dict() == {"status": "done", "at": "t"}
    for mark in (Claim("tok", 5), Done("t")):
        assert mark_from_dict(mark.to_dict()) == mark
    assert mark_from_dict({"s": "lost"}) is None
