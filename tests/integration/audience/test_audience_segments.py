"""Segments through the gateway: saved definitions (bad ones refused, nothing written), their
materialized snapshot (evaluated on the queue), the preview, and exports to the coupons
service's bulk queue as deterministic chunks (campaign_shared.segments)."""

from __future__ import annotations

import json

from campaign_shared.segments import SegmentExport

LINE = {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 5000, "paid_amount": 5000}


def _paid(n: int, customer: str, at: str, **extra: str) -> dict:
    return {
        "event_id": f"e-{n}",
        "type": "order.paid",
        "order_id": f"o-{n}",
        "customer_id": customer,
        "occurred_at": at,
        "lines": [LINE],
        **extra,
    }


def _bulk_messages(aws) -> list[dict]:
    """Take every message off the coupons service's bulk queue."""
    url = aws["resources"]["queues"]["coupons-bulk"]["url"]
    found = []
    while batch := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            found.append(json.loads(m["Body"]))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def _setup(gateway, auth, drain) -> dict[str, str]:
    merchant = auth("merchant", "s1", "m1")
    store = auth("storefront", "s1", "store-1")
    events = [_paid(i, f"c-{i:04d}", "2026-03-01T10:00:00Z") for i in range(1, 4)]
    events += [_paid(5000, "c-0001", "2026-04-01T10:00:00Z"), _paid(5001, "c-0002", "2026-04-02T10:00:00Z")]
    events.append(_paid(6000, "c-ref", "2026-03-02T10:00:00Z", referral_code="ref-a"))
    for event in events:
        assert gateway.post("/events/orders", event, headers=store).status_code == 202
    for customer in ("c-0001", "c-0003", "c-ref"):
        assert gateway.put(f"/audience/customers/{customer}/tags/vip", headers=merchant).status_code == 200
    # 1,203 customers with the tag "spring" (a bulk job: no orders needed to be in a segment).
    ids = [f"c-{i:04d}" for i in range(1, 1204)]
    job = gateway.post("/audience/tag-jobs", {"tag": "spring", "customer_ids": ids}, headers=merchant)
    assert job.status_code == 202, job
    drain("audience")
    return merchant


def test_definitions_preview_and_export(gateway, auth, drain, aws):
    merchant = _setup(gateway, auth, drain)
    repeat_vip = {"name": "repeat vips", "definition": {"tags": {"any": ["vip"]}, "orders_count": {"min": 2}}}
    created = gateway.post("/audience/segments", repeat_vip, headers=merchant)
    assert created.status_code == 201, created
    segment_id = created.json()["segment_id"]
    assert created.json()["status"] == "evaluating"
    everyone = gateway.post(
        "/audience/segments",
        {"name": "spring", "definition": {"tags": {"all": ["spring"]}}},
        headers=merchant,
    ).json()["segment_id"]
    referral = gateway.post(
        "/audience/segments",
        {"name": "ref", "definition": {"acquisition": {"channel": "referral"}, "tags": {"none": ["nope"]}}},
        headers=merchant,
    ).json()["segment_id"]
    drain("audience")

    preview = gateway.get(f"/audience/segments/{segment_id}/preview", headers=merchant)
    assert preview.status_code == 200, preview
    assert preview.json() | {"evaluated_at": None} == {
        "segment_id": segment_id,
        "status": "ready",
        "size": 1,
        "sample": ["c-0001"],
        "evaluated_at": None,
        "evaluating": False,
    }
    big = gateway.get(f"/audience/segments/{everyone}/preview", headers=merchant).json()
    assert big["size"] == 1203 and len(big["sample"]) == 20
    march = gateway.post(
        "/audience/segments",
        {"name": "march", "definition": {"first_order": {"from": "2026-03-01", "to": "2026-03-31"}}},
        headers=merchant,
    ).json()["segment_id"]
    lapsed = gateway.post(
        "/audience/segments",
        {
            "name": "lapsed",
            "definition": {"days_since_last_order": {"min": 1}, "paid_total_amount": {"max": 5000}},
        },
        headers=merchant,
    ).json()["segment_id"]
    drain("audience")
    march_preview = gateway.get(f"/audience/segments/{march}/preview", headers=merchant).json()
    assert (march_preview["size"], march_preview["sample"]) == (4, ["c-0001", "c-0002", "c-0003", "c-ref"])
    lapsed_preview = gateway.get(f"/audience/segments/{lapsed}/preview", headers=merchant).json()
    assert lapsed_preview["sample"] == ["c-0003", "c-ref"]
    assert gateway.get(f"/audience/segments/{referral}/preview", headers=merchant).json()["sample"] == [
        "c-ref"
    ]
    listed = gateway.get("/audience/segments", headers=merchant).json()["items"]
    assert {s["segment_id"]: s["size"] for s in listed} == {
        segment_id: 1,
        everyone: 1203,
        referral: 1,
        march: 4,
        lapsed: 2,
    }

    # Export: the coupons service asks; chunks of <= 500 in seq order, the same on a redelivery.
    request = SegmentExport(shop="s1", segment_id=everyone, job_id="job-1", template_id="t-1").model_dump()
    _bulk_messages(aws)
    aws["sqs"].send_message(
        QueueUrl=aws["resources"]["queues"]["audience"]["url"], MessageBody=json.dumps(request)
    )
    drain("audience")
    first = sorted(_bulk_messages(aws), key=lambda m: m["seq"])
    assert [(m["seq"], len(m["customer_ids"]), m["last"]) for m in first] == [
        (0, 500, False),
        (1, 500, False),
        (2, 203, True),
    ]
    assert {m["total_members"] for m in first} == {1203}
    assert len({c for m in first for c in m["customer_ids"]}) == 1203
    # New members after the snapshot do not change a redelivered export of the same job.
    assert gateway.put("/audience/customers/c-late/tags/spring", headers=merchant).status_code == 200
    assert gateway.post(f"/audience/segments/{everyone}/evaluations", headers=merchant).status_code == 202
    drain("audience")
    assert gateway.get(f"/audience/segments/{everyone}/preview", headers=merchant).json()["size"] == 1204
    aws["sqs"].send_message(
        QueueUrl=aws["resources"]["queues"]["audience"]["url"], MessageBody=json.dumps(request)
    )
    drain("audience")
    again = sorted(_bulk_messages(aws), key=lambda m: m["seq"])
    assert again == first

    # The daily schedule evaluates every segment again.
    from infrastructure.dev.apps import load_app

    load_app("audience")
    from chalicelib.audience.usecases import segments

    assert gateway.put("/audience/customers/c-later/tags/spring", headers=merchant).status_code == 200
    assert segments.evaluate_all() == 5
    drain("audience")
    assert gateway.get(f"/audience/segments/{everyone}/preview", headers=merchant).json()["size"] == 1205

    unknown = SegmentExport(shop="s1", segment_id="nope", job_id="job-2", template_id="t-1").model_dump()
    aws["sqs"].send_message(
        QueueUrl=aws["resources"]["queues"]["audience"]["url"], MessageBody=json.dumps(unknown)
    )
    drain("audience")
    assert _bulk_messages(aws) == [
        {
            "type": "segment.export_failed",
            "shop": "s1",
            "job_id": "job-2",
            "segment_id": "nope",
            "reason": "unknown_segment",
        }
    ]


def test_bad_definitions_are_refused_and_nothing_is_written(gateway, auth):
    merchant = auth("merchant", "s1", "m1")
    bad = [
        {"name": "x", "definition": {"colour": "red"}},
        {"name": "x", "definition": {"orders_count": {"min": 3, "max": 1}}},
        {"name": "x", "definition": {"days_since_last_order": {"min": 90, "max": 60}}},
        {"name": "x", "definition": {"paid_total_amount": {"min": 10, "max": 5}}},
        {"name": "x", "definition": {"first_order": {"from": "2026-03-01", "to": "2026-02-01"}}},
        {"name": "x", "definition": {"tags": {"any": ["x" * 65]}}},
        {"name": "x", "definition": {"orders_count": {"min": "1"}}},
        {"name": "x", "definition": {"acquisition": {"channel": "tv"}}},
        {"name": "x", "definition": {}, "extra": 1},
    ]
    for body in bad:
        response = gateway.post("/audience/segments", body, headers=merchant)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", body
    assert gateway.get("/audience/segments", headers=merchant).json()["items"] == []
    assert gateway.get("/audience/segments/nope/preview", headers=merchant).status_code == 404
    assert gateway.get("/audience/segments", headers=auth("customer")).status_code == 403
