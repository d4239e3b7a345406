"""Tags through the gateway: one customer at a time (any script, URL-encoded), the shop's tags
with counts, a tag's members paged, bulk-tag jobs with progress, and refused names."""

from __future__ import annotations

from urllib.parse import quote

PREGNANCY = quote("备孕")


def test_tag_untag_list_and_page(gateway, auth):
    merchant = auth("merchant", "s1", "m1")
    for customer in ("c-1", "c-2", "c-3"):
        response = gateway.put(f"/audience/customers/{customer}/tags/{PREGNANCY}", headers=merchant)
        assert response.status_code == 200, response
        assert response.json() == {"customer_id": customer, "tag": "备孕", "tagged": True, "changed": True}
    again = gateway.put(f"/audience/customers/c-1/tags/{PREGNANCY}", headers=merchant)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert gateway.put("/audience/customers/c-1/tags/vip", headers=merchant).status_code == 200

    tags = gateway.get("/audience/tags", headers=merchant).json()
    assert {t["tag"]: t["members"] for t in tags["items"]} == {"备孕": 3, "vip": 1}
    profile = gateway.get("/audience/customers/c-1", headers=merchant).json()
    assert profile["tags"] == ["vip", "备孕"] and profile["orders_count"] == 0

    first = gateway.get(f"/audience/tags/{PREGNANCY}/customers?limit=2", headers=merchant).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = gateway.get(
        f"/audience/tags/{PREGNANCY}/customers?limit=2&cursor={first['next_cursor']}", headers=merchant
    ).json()
    assert sorted(first["items"] + rest["items"]) == ["c-1", "c-2", "c-3"] and rest["next_cursor"] is None

    assert gateway.delete(f"/audience/customers/c-2/tags/{PREGNANCY}", headers=merchant).status_code == 204
    assert gateway.delete(f"/audience/customers/c-2/tags/{PREGNANCY}", headers=merchant).status_code == 204
    tags = gateway.get("/audience/tags", headers=merchant).json()
    assert {t["tag"]: t["members"] for t in tags["items"]} == {"备孕": 2, "vip": 1}
    assert gateway.get("/audience/customers/c-2", headers=merchant).json()["tags"] == []
    # Another shop sees none of it.
    other = auth("merchant", "s2", "m2")
    assert gateway.get("/audience/tags", headers=other).json()["items"] == []
    assert gateway.get("/audience/customers/c-1", headers=other).status_code == 404


def test_bad_tag_names_are_refused_and_nothing_is_written(gateway, auth):
    merchant = auth("merchant", "s1", "m1")
    for bad in ("x" * 65, quote("a\x07b"), quote("tab\there"), quote(" ")):
        response = gateway.put(f"/audience/customers/c-1/tags/{bad}", headers=merchant)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", bad
    assert gateway.put(f"/audience/customers/c-1/tags/{'x' * 64}", headers=merchant).status_code == 200
    tags = gateway.get("/audience/tags", headers=merchant).json()["items"]
    assert [t["tag"] for t in tags] == ["x" * 64]
    job = gateway.post("/audience/tag-jobs", {"tag": "y" * 65, "customer_ids": ["c-1"]}, headers=merchant)
    assert job.status_code == 400
    too_many = gateway.post(
        "/audience/tag-jobs",
        {"tag": "ok", "customer_ids": [f"c-{i}" for i in range(100_001)]},
        headers=merchant,
    )
    assert too_many.status_code == 400
    assert (
        gateway.put("/audience/customers/c-1/tags/vip", headers=auth("customer", "s1", "c-1")).status_code
        == 403
    )


def test_bulk_tag_job_counts_each_customer_once(gateway, auth, drain):
    merchant = auth("merchant", "s1", "m1")
    assert gateway.put("/audience/customers/c-7/tags/spring", headers=merchant).status_code == 200
    ids = [f"c-{i}" for i in range(1200)] + ["c-5", "c-6"]  # duplicates count once
    response = gateway.post("/audience/tag-jobs", {"tag": "spring", "customer_ids": ids}, headers=merchant)
    assert response.status_code == 202, response
    job = response.json()
    assert (job["status"], job["total"], job["processed"]) == ("running", 1200, 0)
    stats = drain("audience")
    assert stats["audience"]["failed"] == 0
    done = gateway.get(f"/audience/tag-jobs/{job['job_id']}", headers=merchant).json()
    assert done == {
        **done,
        "status": "done",
        "total": 1200,
        "processed": 1200,
        "tagged": 1199,
        "already_tagged": 1,
    }
    tags = gateway.get("/audience/tags", headers=merchant).json()["items"]
    assert tags == [{"tag": "spring", "members": 1200}]
    assert gateway.get("/audience/tag-jobs/nope", headers=merchant).status_code == 404
