from __future__ import annotations

from campaign_shared import capacity


def test_item_size_follows_dynamodb_rules():
    item = {"pk": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": True}}
    # names 2+1+2, "abc" 3, 12345 -> 5 digits -> 3+1 = 4, bool 1
    assert capacity.item_size(item) == 5 + 3 + 4 + 1


def test_units_round_up_per_pricing_rules():
    assert capacity.read_units(1, consistent=True) == 1
    assert capacity.read_units(1, consistent=False) == 0.5
    assert capacity.read_units(4097, consistent=True) == 2
    assert capacity.read_units(100, consistent=True, transactional=True) == 2
    assert capacity.write_units(1) == 1
    assert capacity.write_units(1025) == 2
    assert capacity.write_units(10, transactional=True) == 2


def test_cost_of_calls():
    put = {"Item": {"pk": {"S": "x" * 1100}}}
    assert capacity.cost("PutItem", put, {}) == (0.0, 2.0)
    get = {"ConsistentRead": True}
    assert capacity.cost("GetItem", get, {"Item": {"pk": {"S": "x"}}}) == (1.0, 0.0)
    assert capacity.cost("GetItem", {}, {}) == (0.5, 0.0)  # a miss still costs
    transact = {
        "TransactItems": [
            {"Put": {"Item": {"pk": {"S": "a"}}}},
            {"ConditionCheck": {"Key": {"pk": {"S": "b"}}}},
        ]
    }
    assert capacity.cost("TransactWriteItems", transact, {}) == (0.0, 4.0)
    query = {"Items": [{"pk": {"S": "x" * 3000}}, {"pk": {"S": "y" * 3000}}], "Count": 2, "ScannedCount": 2}
    assert capacity.cost("Query", {}, query) == (1.0, 0.0)  # 6 KB eventually consistent -> 2/2


def test_measure_collects_only_its_own_calls():
    with capacity.measure() as outer:
        capacity._record("GetItem", 1.0, 0.0)
        with capacity.measure() as inner:
            capacity._record("PutItem", 0.0, 2.0)
    assert (outer.read, outer.write, outer.calls) == (1.0, 2.0, 2)
    assert (inner.read, inner.write, inner.calls) == (0.0, 2.0, 1)
    assert inner.header() == "read=0;write=2;calls=1"
