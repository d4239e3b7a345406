"""Bulk issue jobs on their own queue: order events never wait behind them, a sold-out job stops
early, outcomes are counted by reason with samples, and a chunk that goes to the DLQ shows on
its job (which still finishes) until a redrive replaces it with the chunk's real outcome."""

from __future__ import annotations

import importlib

from campaign_shared import clock
from campaign_shared.storage import codec


def template(gateway, auth, shop="s1", **overrides):
    body = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, **overrides}
    response = gateway.post("/coupons/templates", body, headers=auth("merchant", shop=shop))
    assert response.status_code == 201, response
    return response.json()


def read_template(gateway, auth, tid):
    return gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()


def wallet(gateway, auth, sub, shop="s1"):
    return gateway.get("/coupons/me?limit=200", headers=auth("customer", shop=shop, sub=sub)).json()["items"]


def post_job(gateway, auth, tid, customer_ids, shop="s1"):
    response = gateway.post(
        f"/coupons/templates/{tid}/issue-jobs",
        {"customer_ids": customer_ids},
        headers=auth("merchant", shop=shop),
    )
    assert response.status_code == 202, response
    return response.json()["job_id"]


def job(gateway, auth, job_id, shop="s1"):
    response = gateway.get(f"/coupons/issue-jobs/{job_id}", headers=auth("merchant", shop=shop))
    assert response.status_code == 200, response
    return response.json()


def customers(n: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


def depth(aws, key: str, dlq: bool = False) -> int:
    queue = aws["resources"]["queues"][key]
    attrs = aws["sqs"].get_queue_attributes(
        QueueUrl=queue["dlq_url" if dlq else "url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def limit_record(aws, tid: str, customer: str, shop: str = "s1"):
    from chalicelib.coupons.store import keys as store

    item = (
        aws["dynamodb"]
        .get_item(
            TableName=store.table(),
            Key=codec.to_item(store.limit_key(shop, tid, customer)),
            ConsistentRead=True,
        )
        .get("Item")
    )
    return codec.from_item(item)


def count_calls(monkeypatch, module_name: str, name: str) -> dict[str, int]:
    """Count calls of ``<module>.<name>`` (``name`` may be ``Class.method``)."""
    module = importlib.import_module(f"chalicelib.coupons.{module_name}")
    *owners, name = name.split(".")
    for owner in owners:
        module = getattr(module, owner)
    real = getattr(module, name)
    calls = {"n": 0}

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_order_events_are_processed_while_chunks_wait_on_the_bulk_queue(gateway, auth, aws, drain):
    tid = template(gateway, auth)["template_id"]
    coupon = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer")).json()
    gateway.post(f"/coupons/{coupon['coupon_id']}/lock", {"order_id": "o-1"}, headers=auth("customer"))
    bulk_tid = template(gateway, auth, shop="s2", total_stock=2_000)["template_id"]
    job_id = post_job(gateway, auth, bulk_tid, customers(1_001), shop="s2")
    assert depth(aws, "coupons-bulk") == 3 and depth(aws, "coupons") == 0
    paid = {
        "event_id": "e-paid-1",
        "type": "order.paid",
        "order_id": "o-1",
        "customer_id": "u1",
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 900, "paid_amount": 400}
        ],
        "coupon_id": coupon["coupon_id"],
    }
    assert gateway.post("/events/orders", paid, headers=auth("storefront")).status_code == 202

    stats = drain("coupons:main")  # only the queue of order events and grants is consumed
    assert set(stats) == {"coupons"} and stats["coupons"]["messages"] == 1
    item = gateway.get(
        f"/coupons/customers/u1/coupons/{coupon['coupon_id']}", headers=auth("merchant")
    ).json()
    assert (item["status"], item["order_id"]) == ("redeemed", "o-1")
    assert job(gateway, auth, job_id, shop="s2")["status"] == "queued"
    assert depth(aws, "coupons-bulk") == 3  # every chunk still waiting

    drain("coupons:bulk")
    done = job(gateway, auth, job_id, shop="s2")
    assert (done["status"], done["issued"], done["skipped"], done["failed"]) == ("done", 1_001, 0, 0)


def test_a_sold_out_job_stops_early_without_writing_for_the_customers_it_skips(
    gateway, auth, aws, drain, monkeypatch
):
    tid = template(gateway, auth, total_stock=5)["template_id"]
    everyone = customers(1_200)  # three chunks: 500, 500, 200
    job_id = post_job(gateway, auth, tid, everyone)
    reserves = count_calls(monkeypatch, "store.limits", "DynamoLimits.reserve")
    releases = count_calls(monkeypatch, "store.limits", "DynamoLimits.release")
    drain("coupons")
    done = job(gateway, auth, job_id)
    assert (done["status"], done["issued"], done["skipped"], done["failed"]) == ("done", 5, 1_195, 0)
    assert done["skipped_by_reason"] == {"sold_out": 1_195} and done["failed_by_reason"] == {}
    assert done["samples"] == {"sold_out": everyone[5:15]}
    # One limit write per customer who got a coupon, none for anyone skipped, nothing given back.
    assert (reserves["n"], releases["n"]) == (5, 0)
    assert [bool(wallet(gateway, auth, c)) for c in everyone[:6]] == [True] * 5 + [False]
    assert limit_record(aws, tid, everyone[5]) is None and limit_record(aws, tid, everyone[-1]) is None
    assert limit_record(aws, tid, everyone[4])["n"] == 1
    body = read_template(gateway, auth, tid)
    assert (body["issued_count"], body["remaining_stock"]) == (5, 0)


def test_customers_who_lose_their_unit_to_a_claim_get_their_count_back_and_are_sold_out(
    gateway, auth, aws, drain, monkeypatch
):
    tid = template(gateway, auth, total_stock=5)["template_id"]
    issuing = importlib.import_module("chalicelib.coupons.usecases.claims")
    real = issuing.take_units

    def claims_first(*args, **kwargs):  # two claims land between the stock read and the take
        for sub in ("fast-1", "fast-2"):
            claimed = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
            assert claimed.status_code == 201
        monkeypatch.setattr(issuing, "take_units", real)
        return real(*args, **kwargs)

    monkeypatch.setattr(issuing, "take_units", claims_first)
    job_id = post_job(gateway, auth, tid, customers(8))
    drain("coupons")
    done = job(gateway, auth, job_id)
    assert (done["issued"], done["skipped"], done["skipped_by_reason"]) == (3, 5, {"sold_out": 5})
    assert done["samples"]["sold_out"] == ["c00003", "c00004", "c00005", "c00006", "c00007"]
    assert limit_record(aws, tid, "c00003")["n"] == 0  # counted, lost the race, given back
    assert limit_record(aws, tid, "c00005") is None  # never counted
    assert read_template(gateway, auth, tid)["issued_count"] == 5


def test_a_job_whose_window_ends_fails_its_customers_as_not_active(gateway, auth, drain, monkeypatch):
    tid = template(gateway, auth, valid_until="2099-01-01T00:00:00Z")["template_id"]
    job_id = post_job(gateway, auth, tid, customers(12))
    later = clock.parse("2099-01-02T00:00:00Z")
    monkeypatch.setattr(clock, "now", lambda: later)
    drain("coupons")
    done = job(gateway, auth, job_id)
    assert (done["status"], done["issued"], done["skipped"], done["failed"]) == ("done", 0, 0, 12)
    assert done["failed_by_reason"] == {"not_active": 12}
    assert done["samples"] == {"not_active": customers(10)}


def fail_chunk(monkeypatch, chunk: int, times: int | None = None) -> dict[str, int]:
    """Make chunk ``chunk`` raise (every time, or its first ``times`` attempts)."""
    bulk = importlib.import_module("chalicelib.coupons.usecases.bulk")
    real = bulk._plan_chunk
    seen = {"n": 0}

    def flaky(stores, shop, template_, message):
        if message.chunk == chunk:
            seen["n"] += 1
            if times is None or seen["n"] <= times:
                raise RuntimeError("storage keeps failing for this chunk")
        return real(stores, shop, template_, message)

    monkeypatch.setattr(bulk, "_plan_chunk", flaky)
    return seen


def redrive(aws, key: str) -> int:
    """What ``campaign dlq NAME --redrive`` does: each dead letter back to its own queue."""
    queue, sqs, moved = aws["resources"]["queues"][key], aws["sqs"], 0
    while batch := sqs.receive_message(QueueUrl=queue["dlq_url"], MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            sqs.send_message(QueueUrl=queue["url"], MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=queue["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def test_a_dead_lettered_chunk_shows_on_its_job_which_still_finishes_and_a_redrive_repairs_it(
    gateway, auth, aws, drain, monkeypatch
):
    tid = template(gateway, auth, total_stock=2_000)["template_id"]
    everyone = customers(1_001)
    job_id = post_job(gateway, auth, tid, everyone)
    attempts = fail_chunk(monkeypatch, 1)
    drain("coupons")
    assert attempts["n"] == 5 and depth(aws, "coupons-bulk", dlq=True) == 1
    done = job(gateway, auth, job_id)
    assert done["status"] == "done" and done["dead_lettered_chunks"] == [1]
    assert (done["issued"], done["skipped"], done["failed"]) == (501, 0, 500)
    assert done["failed_by_reason"] == {"dead_lettered": 500}
    assert done["samples"] == {"dead_lettered": everyone[500:510]}
    assert not wallet(gateway, auth, everyone[500])

    # The cause is fixed; the operator redrives the bulk DLQ: the chunk's real outcome replaces
    # the dead-lettered count, exactly once.
    monkeypatch.undo()
    assert redrive(aws, "coupons-bulk") == 1
    drain("coupons")
    repaired = job(gateway, auth, job_id)
    assert (repaired["status"], repaired["issued"], repaired["skipped"], repaired["failed"]) == (
        "done",
        1_001,
        0,
        0,
    )
    assert repaired["failed_by_reason"] == {} and repaired["dead_lettered_chunks"] == []
    assert repaired["samples"] == {}
    assert len(wallet(gateway, auth, everyone[500])) == 1
    assert read_template(gateway, auth, tid)["issued_count"] == 1_001


def test_a_chunk_that_succeeds_on_its_last_attempt_counts_once(gateway, auth, aws, drain, monkeypatch):
    tid = template(gateway, auth, total_stock=2_000)["template_id"]
    job_id = post_job(gateway, auth, tid, customers(1_001))
    attempts = fail_chunk(monkeypatch, 0, times=4)  # recorded as dead-lettered, then it works
    drain("coupons")
    assert attempts["n"] == 5 and depth(aws, "coupons-bulk", dlq=True) == 0
    done = job(gateway, auth, job_id)
    assert (done["status"], done["issued"], done["skipped"], done["failed"]) == ("done", 1_001, 0, 0)
    assert done["dead_lettered_chunks"] == [] and done["failed_by_reason"] == {}


def test_a_redelivered_dead_lettered_record_counts_nothing_twice(gateway, auth, aws, drain, monkeypatch):
    from chalicelib.coupons.models import IssueChunk
    from chalicelib.coupons.usecases import bulk

    tid = template(gateway, auth)["template_id"]
    job_id = post_job(gateway, auth, tid, ["a", "b"])
    chunk = IssueChunk(
        shop="s1", job_id=job_id, template_id=tid, chunk=0, first_index=0, customer_ids=["a", "b"]
    )
    assert bulk.mark_dead_lettered(chunk) and not bulk.mark_dead_lettered(chunk)
    dead = job(gateway, auth, job_id)
    assert (dead["status"], dead["failed"], dead["dead_lettered_chunks"]) == ("done", 2, [0])
    drain("coupons")  # the chunk itself is still queued: it succeeds and repairs the job
    drain("coupons")
    done = job(gateway, auth, job_id)
    assert (done["issued"], done["failed"], done["dead_lettered_chunks"]) == (2, 0, [])
    assert not bulk.mark_dead_lettered(chunk)  # done for real: not recorded as dead again
    assert job(gateway, auth, job_id)["failed"] == 0
