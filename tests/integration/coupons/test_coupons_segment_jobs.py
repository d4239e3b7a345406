"""Issuing to an audience segment: the coupons service asks the audience service for the
segment's members (``segment.export``) and issues each chunk it streams back
(``segment.members``) like a chunk of a posted list; coupons never imports audience."""

from __future__ import annotations

from campaign_shared import messaging


def _segment_of_tagged(gateway, auth, drain, count: int) -> str:
    merchant = auth("merchant")
    ids = [f"c-{i:04d}" for i in range(count)]
    job = gateway.post("/audience/tag-jobs", {"tag": "spring", "customer_ids": ids}, headers=merchant)
    assert job.status_code == 202, job
    drain("audience")
    body = {"name": "spring", "definition": {"tags": {"all": ["spring"]}}}
    segment = gateway.post("/audience/segments", body, headers=merchant)
    assert segment.status_code == 201, segment
    drain("audience")
    return segment.json()["segment_id"]


def _template(gateway, auth, stock: int) -> str:
    body = {"name": "win-back", "kind": "amount_off", "amount_off": 800, "total_stock": stock}
    return gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]


def _run(drain) -> None:
    for _ in range(3):  # coupons -> audience (export) -> coupons bulk (members)
        drain("audience")
        drain("coupons:bulk")


def test_a_job_issues_to_every_member_of_a_segment_once(gateway, auth, drain):
    segment = _segment_of_tagged(gateway, auth, drain, 1203)
    tid = _template(gateway, auth, 2000)
    merchant = auth("merchant")
    accepted = gateway.post(f"/coupons/templates/{tid}/issue-jobs", {"segment_id": segment}, headers=merchant)
    assert accepted.status_code == 202, accepted
    job_id = accepted.json()["job_id"]
    assert accepted.json()["total"] == 0  # known when the members arrive
    queued = gateway.get(f"/coupons/issue-jobs/{job_id}", headers=merchant).json()
    assert (queued["status"], queued["segment_id"]) == ("queued", segment)

    _run(drain)
    job = gateway.get(f"/coupons/issue-jobs/{job_id}", headers=merchant).json()
    assert job["status"] == "done", job
    assert (job["total"], job["issued"], job["skipped"], job["failed"]) == (1203, 1203, 0, 0)
    wallet = gateway.get("/coupons/me", headers=auth("customer", sub="c-0042")).json()["items"]
    assert [c["template_id"] for c in wallet] == [tid]
    stats = gateway.get(f"/coupons/templates/{tid}/stats", headers=merchant).json()
    assert stats["issued_count"] == 1203


def test_a_repeated_export_issues_nothing_twice_and_the_stock_caps_the_job(gateway, auth, drain, aws):
    segment = _segment_of_tagged(gateway, auth, drain, 700)
    tid = _template(gateway, auth, 600)
    merchant = auth("merchant")
    job_id = gateway.post(
        f"/coupons/templates/{tid}/issue-jobs", {"segment_id": segment}, headers=merchant
    ).json()["job_id"]
    export = {"type": "segment.export", "shop": "s1", "segment_id": segment, "job_id": job_id}
    messaging.send("audience", {**export, "template_id": tid, "reply_to": "coupons"})  # a copy
    _run(drain)
    job = gateway.get(f"/coupons/issue-jobs/{job_id}", headers=merchant).json()
    assert job["status"] == "done", job
    assert (job["total"], job["issued"], job["skipped_by_reason"]) == (700, 600, {"sold_out": 100})
    assert gateway.get(f"/coupons/templates/{tid}", headers=merchant).json()["issued_count"] == 600


def test_an_unknown_segment_ends_the_job_with_its_reason(gateway, auth, drain):
    tid = _template(gateway, auth, 10)
    merchant = auth("merchant")
    accepted = gateway.post(
        f"/coupons/templates/{tid}/issue-jobs", {"segment_id": "seg-nope"}, headers=merchant
    )
    assert accepted.status_code == 202, accepted
    _run(drain)
    job = gateway.get(f"/coupons/issue-jobs/{accepted.json()['job_id']}", headers=merchant).json()
    assert (job["status"], job["segment_error"], job["total"], job["issued"]) == (
        "done",
        "unknown_segment",
        0,
        0,
    )


def test_an_issue_job_takes_a_list_or_a_segment_not_both_nor_neither(gateway, auth):
    tid = _template(gateway, auth, 10)
    for body in ({}, {"customer_ids": ["c-1"], "segment_id": "seg-1"}, {"segment_id": ""}):
        answer = gateway.post(f"/coupons/templates/{tid}/issue-jobs", body, headers=auth("merchant"))
        assert answer.status_code == 400, (body, answer)
