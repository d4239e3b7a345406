"""Grants from other services and bulk issue jobs: exactly once under redelivery and crashes."""

from __future__ import annotations

import json

import pytest

from campaign_shared import messaging


def template(gateway, auth, **overrides):
    body = {"name": "t", "kind": "amount_off", "amount_off": 500, "total_stock": 10, **overrides}
    response = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert response.status_code == 201, response
    return response.json()


def read_template(gateway, auth, tid):
    return gateway.get(f"/coupons/templates/{tid}", headers=auth("merchant")).json()


def wallet(gateway, auth, sub, shop="s1"):
    return gateway.get("/coupons/me?limit=200", headers=auth("customer", shop=shop, sub=sub)).json()["items"]


def received(aws, service):
    url = aws["resources"]["queues"][service]["url"]
    out = []
    while True:
        batch = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        out.extend(json.loads(m["Body"]) for m in batch)


def grant(tid, customer="c1", grant_id="g-1", **extra):
    return {
        "type": "coupon.grant",
        "grant_id": grant_id,
        "shop": "s1",
        "template_id": tid,
        "customer_id": customer,
        "reply_to": "referral",
        **extra,
    }


def fail_once(monkeypatch, name, where="store.coupons"):
    """Make ``<where>.<name>`` fail on its first call (the gateway fixture has loaded the app);
    ``name`` may be ``Class.method``."""
    import importlib

    module = importlib.import_module(f"chalicelib.coupons.{where}")
    *owners, name = name.split(".")
    for owner in owners:
        module = getattr(module, owner)
    real = getattr(module, name)
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("crash after the stock was taken")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


# ---- grants ---------------------------------------------------------------------------------


def test_grant_issues_exactly_once_per_grant_id(gateway, auth, aws, drain):
    tid = template(gateway, auth, per_customer_limit=5)["template_id"]
    messaging.send("coupons", grant(tid))
    messaging.send("coupons", grant(tid))
    drain("coupons")
    messaging.send("coupons", grant(tid))
    drain("coupons")
    coupons = wallet(gateway, auth, "c1")
    assert len(coupons) == 1 and coupons[0]["template_id"] == tid
    results = received(aws, "referral")
    assert len(results) == 3
    assert {(r["status"], r["coupon_id"], r["grant_id"], r["type"]) for r in results} == {
        ("issued", coupons[0]["coupon_id"], "g-1", "coupon.grant_result")
    }
    assert read_template(gateway, auth, tid)["issued_count"] == 1


def test_grant_retried_after_a_crash_takes_stock_once(gateway, auth, aws, drain, monkeypatch):
    tid = template(gateway, auth, total_stock=3)["template_id"]
    calls = fail_once(monkeypatch, "put_coupon")
    messaging.send("coupons", grant(tid))
    stats = drain("coupons")
    assert calls["n"] == 2 and stats["coupons"]["failed"] == 1
    assert len(wallet(gateway, auth, "c1")) == 1
    body = read_template(gateway, auth, tid)
    assert (body["issued_count"], body["remaining_stock"]) == (1, 2)
    assert [r["status"] for r in received(aws, "referral")] == ["issued"]


def test_grant_failures_are_answered_with_reasons(gateway, auth, aws, drain):
    one = template(gateway, auth, total_stock=1)["template_id"]
    messaging.send("coupons", grant(one, "a", "g-a"))
    drain("coupons")
    messaging.send("coupons", grant(one, "b", "g-b"))  # sold out
    messaging.send("coupons", grant(one, "a", "g-c"))  # a already holds the one allowed
    messaging.send("coupons", grant("tpl-missing", "a", "g-d"))
    messaging.send("coupons", {**grant(one, "a", "g-e"), "shop": "s2"})  # another shop's template
    messaging.send("coupons", grant(one, "a", "g-f", reply_to=None))  # nobody to answer
    drain("coupons")
    reasons = {r["grant_id"]: (r["status"], r["reason"]) for r in received(aws, "referral")}
    assert reasons == {
        "g-a": ("issued", None),
        "g-b": ("failed", "sold_out"),
        "g-c": ("failed", "per_customer_limit_reached"),
        "g-d": ("failed", "template_not_found"),
        "g-e": ("failed", "template_not_found"),
    }
    assert [c["coupon_id"] for c in wallet(gateway, auth, "b")] == []


def test_malformed_grant_goes_to_the_dead_letter_queue(gateway, auth, aws, drain):
    messaging.send("coupons", {"type": "coupon.grant", "grant_id": "g-1"})
    drain("coupons")
    queues = aws["resources"]["queues"]["coupons"]
    dead = aws["sqs"].receive_message(QueueUrl=queues["dlq_url"], MaxNumberOfMessages=10).get("Messages", [])
    assert len(dead) == 1 and received(aws, "referral") == []


# ---- bulk issue ----------------------------------------------------------------------------


def post_job(gateway, auth, tid, customers, shop="s1"):
    return gateway.post(
        f"/coupons/templates/{tid}/issue-jobs",
        {"customer_ids": customers},
        headers=auth("merchant", shop=shop),
    )


def job(gateway, auth, job_id, shop="s1"):
    return gateway.get(f"/coupons/issue-jobs/{job_id}", headers=auth("merchant", shop=shop))


def test_bulk_issue_counts_end_exactly_at_the_input_size(gateway, auth, drain):
    tid = template(gateway, auth, total_stock=6)["template_id"]
    gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="early"))
    customers = ["early", "a", "b", "a", "c", "d", "e", "f", "g"]  # early holds one; a twice; 5 units left
    accepted = post_job(gateway, auth, tid, customers)
    assert accepted.status_code == 202
    body = accepted.json()
    assert (body["status"], body["total"]) == ("queued", 9)
    assert job(gateway, auth, body["job_id"]).json()["status"] == "queued"
    drain("coupons")
    done = job(gateway, auth, body["job_id"]).json()
    assert done["status"] == "done" and done["template_id"] == tid
    assert (done["issued"], done["skipped"], done["failed"]) == (5, 4, 0)
    assert done["issued"] + done["skipped"] + done["failed"] == done["total"] == 9
    assert done["skipped_by_reason"] == {"duplicate": 1, "per_customer_limit_reached": 1, "sold_out": 2}
    assert done["failed_by_reason"] == {} and done["dead_lettered_chunks"] == []
    assert done["samples"] == {
        "duplicate": ["a"],
        "per_customer_limit_reached": ["early"],
        "sold_out": ["f", "g"],
    }
    issued = [c for c in "abcdefg" if wallet(gateway, auth, c)]
    assert issued == ["a", "b", "c", "d", "e"]
    assert len(wallet(gateway, auth, "early")) == 1
    assert read_template(gateway, auth, tid)["remaining_stock"] == 0


@pytest.mark.parametrize(
    "crash", [("DynamoCoupons.create_many", "store.coupons"), ("DynamoJobs.put_plan", "store.jobs")]
)
def test_redelivered_and_crashed_chunks_issue_nothing_twice(gateway, auth, aws, drain, monkeypatch, crash):
    tid = template(gateway, auth, kind="lucky", amount_off=None, lucky_total_amount=1000, total_stock=40)[
        "template_id"
    ]
    customers = [f"c{i:03d}" for i in range(50)]
    job_id = post_job(gateway, auth, tid, customers).json()["job_id"]
    chunks = received(aws, "coupons-bulk")  # take the chunks off the queue to deliver them ourselves
    assert sum(len(c["customer_ids"]) for c in chunks) == 50
    calls = fail_once(monkeypatch, *crash)
    for chunk in chunks + chunks:  # every chunk twice, the first attempt crashes mid-way
        messaging.send("coupons", chunk, queue="bulk")
    drain("coupons")
    assert calls["n"] >= 2
    done = job(gateway, auth, job_id).json()
    assert (done["status"], done["issued"], done["skipped"], done["failed"]) == ("done", 40, 10, 0)
    assert done["skipped_by_reason"] == {"sold_out": 10}
    held = [wallet(gateway, auth, c) for c in customers]
    assert sorted(len(w) for w in held) == [0] * 10 + [1] * 40
    assert sum(w[0]["amount_off"] for w in held if w) == 1000  # the whole lucky pack, each slot once
    body = read_template(gateway, auth, tid)
    assert (body["issued_count"], body["remaining_stock"]) == (40, 0)


def test_bad_issue_jobs_are_refused(gateway, auth, aws):
    tid = template(gateway, auth)["template_id"]
    too_many = post_job(gateway, auth, tid, [f"c{i}" for i in range(100_001)])
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "invalid_request"
    assert post_job(gateway, auth, tid, []).status_code == 400
    assert post_job(gateway, auth, tid, ["bad id with spaces"]).status_code == 400
    assert post_job(gateway, auth, tid, ["c1"], shop="s2").status_code == 404
    assert (
        gateway.post(
            f"/coupons/templates/{tid}/issue-jobs", {"customer_ids": ["c1"]}, headers=auth("customer")
        ).status_code
        == 403
    )
    assert received(aws, "coupons") == [] and received(aws, "coupons-bulk") == []
    job_id = post_job(gateway, auth, tid, ["c1"]).json()["job_id"]
    assert job(gateway, auth, job_id, shop="s2").status_code == 404
    assert job(gateway, auth, "job-unknown").status_code == 404
    later = template(gateway, auth, valid_from="2099-01-01T00:00:00Z")["template_id"]
    not_active = post_job(gateway, auth, later, ["c1"])
    assert not_active.status_code == 409 and not_active.json()["error"]["code"] == "not_active"


def test_a_job_is_fanned_out_in_chunks_and_stays_queued_until_consumed(gateway, auth, aws):
    tid = template(gateway, auth, total_stock=2_000)["template_id"]
    customers = [f"customer-{i:05d}" for i in range(1_001)]
    accepted = post_job(gateway, auth, tid, customers)
    assert accepted.status_code == 202, accepted
    assert received(aws, "coupons") == []  # nothing on the queue of order events and grants
    chunks = received(aws, "coupons-bulk")
    assert sorted(len(c["customer_ids"]) for c in chunks) == [1, 500, 500]
    assert {c["type"] for c in chunks} == {"coupon.issue_chunk"}
    assert sorted(i for c in chunks for i in c["customer_ids"]) == customers
    status = job(gateway, auth, accepted.json()["job_id"]).json()
    assert (status["status"], status["total"], status["issued"] + status["skipped"] + status["failed"]) == (
        "queued",
        1_001,
        0,
    )
