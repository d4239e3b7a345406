"""Orders saved before the stored-field rename (marks ``{"s","t","u"}``, lines with
``paid``/``r1``/``r2``/``a1``/``a2``) are read, claimed, posted and settled by the new code."""

from __future__ import annotations

from campaign_shared import clock


def _put_old_order(aws, order_id: str, code: str, applied: dict) -> None:
    from campaign_shared.resources import table_name
    from campaign_shared.storage import codec

    item = {
        "pk": f"order#s1#{order_id}",
        "sk": "order",
        "shop": "s1",
        "order_id": order_id,
        "version": 1,
        "state": "paid",
        "customer_id": "buyer",
        "currency": "CNY",
        "code": code,
        "tier1": "c",
        "tier2": "p",
        "paid_at": "2026-11-11T00:00:05Z",
        "settle_due_at": "2026-11-18T00:00:05Z",
        "lines": [
            {
                "line_id": "l-1",
                "product_id": "p-l-1",
                "paid": 10000,
                "r1": 1000,
                "r2": 500,
                "a1": 1000,
                "a2": 500,
            }
        ],
        "refunds": {},
        "applied": applied,
        "gsi1pk": "settle#s1",
        "gsi1sk": f"2026-11-18T00:00:05Z#{order_id}",
    }
    aws["dynamodb"].put_item(TableName=table_name("test", "distribution", "main"), Item=codec.to_item(item))


def _stored_order(aws, order_id: str) -> dict:
    from campaign_shared.resources import table_name
    from campaign_shared.storage import codec

    response = aws["dynamodb"].get_item(
        TableName=table_name("test", "distribution", "main"),
        Key={"pk": {"S": f"order#s1#{order_id}"}, "sk": {"S": "order"}},
        ConsistentRead=True,
    )
    return codec.from_item(response["Item"]) or {}


def test_an_old_order_with_an_expired_old_claim_is_claimed_posted_and_settled(dist, aws):
    code, _ = dist.chain()
    expired = clock.epoch(clock.now()) - 10
    _put_old_order(aws, "o-1", code, {"acc#t1": {"s": "claimed", "t": "old-token", "u": expired}})
    dist.send(dist.paid("o-1", code))  # a redelivery: the old claim expired, the groups are free
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
    marks = _stored_order(aws, "o-1")["applied"]  # claimed by this delivery, posted: entries written
    assert {k: v["status"] for k, v in marks.items()} == {"acc#t1": "claimed", "acc#t2": "claimed"}
    assert marks["acc#t1"]["token"] != "old-token"
    assert dist.reconcile("c")["entry_count"] == 1 and dist.reconcile("p")["entry_count"] == 1
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 2500)]))
    assert dist.amounts("c") == (750, 0, 0) and dist.amounts("p") == (375, 0, 0)
    stored = _stored_order(aws, "o-1")
    assert stored["lines"][0]["tier1_accrual"] == 1000 and "a1" not in stored["lines"][0]
    assert dist.settle("2030-01-01T00:00:00Z")["settled_count"] == 2
    assert dist.amounts("c") == (0, 750, 0) and dist.amounts("p") == (0, 375, 0)
    for sub in ("c", "p"):
        report = dist.reconcile(sub)
        assert report["consistent"] and report["journal_groups"] == 0 and report["entry_count"] == 3, report


def test_old_done_marks_and_live_old_claims_are_honoured(dist, aws):
    code, _ = dist.chain()
    done = {"s": "done", "at": "2026-11-11T00:00:06Z"}
    _put_old_order(aws, "o-2", code, {"acc#t1": done, "acc#t2": done})
    dist.send(dist.paid("o-2", code))  # already posted before the rename: nothing again
    assert dist.amounts("c") == (0, 0, 0) and dist.amounts("p") == (0, 0, 0)
    live = clock.epoch(clock.now()) + 3600
    _put_old_order(aws, "o-3", code, {"acc#t1": {"s": "claimed", "t": "old-token", "u": live}})
    stats = dist.send(dist.paid("o-3", code))  # another delivery (before the rename) holds acc#t1
    assert stats["failed"] == stats["messages"] > 0, stats  # every delivery is held off
    assert dist.amounts("c") == (0, 0, 0) and dist.amounts("p") == (500, 0, 0)
