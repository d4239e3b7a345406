"""Coupons benchmarks (issue 3).

- **Claims per second** by 32 concurrent customers on one template (4 stock shards), against
  the same three raw single-item writes a claim costs (the customer's limit record, a stock
  shard, the coupon), issued by 32 threads on the same moto server. Next to it, the request
  units per successful claim from the platform's accounting (``X-Request-Units``) and the
  design's theoretical minimum: 3 write units (three items under 1 KB; the template is
  immutable and cached, so no read). A transactional claim would cost 6.
- **Claim p50 latency** with 0 and with 50,000 coupons issued, in one run, on the same
  template. The claim path uses only single-item reads and writes (moto scans the table for
  a Query or a transaction), so the ratio must stay under 1.5. The 50,000 are the coupons of
  the runs above (claims + the bulk job) topped up with seeded coupons and limit records of
  the same shape.
- **Bulk issue**: coupons issued per second for a 20,000-customer job (POST to ``done``),
  against raw BatchWriteItem of the same coupon items on the same server. The floor of any
  design that keeps per-customer limits under concurrency is one conditional write per
  customer, against 25 items per BatchWriteItem call: moto's per-request cost makes that
  ratio large locally; on DynamoDB those writes go to different partitions in parallel.

``BENCH_COUPONS_BULK`` (default 20,000) and ``BENCH_COUPONS_ISSUED`` (default 50,000) scale
the run down for a quick look; the issue's figures use the defaults.
"""

from __future__ import annotations

import concurrent.futures
import os
import statistics
import time
import uuid
from typing import Any

CLIENTS = 32
CLAIMS_PER_CLIENT = 10
LATENCY_SAMPLES = 100
BULK = int(os.environ.get("BENCH_COUPONS_BULK", "20000"))
ISSUED = int(os.environ.get("BENCH_COUPONS_ISSUED", "50000"))
THEORETICAL_UNITS = 3.0


def _template(ctx: Any, shop: str, stock: int) -> str:
    import requests

    body = {"name": "bench", "kind": "amount_off", "amount_off": 500, "total_stock": stock, "valid_days": 30}
    response = requests.post(
        f"{ctx.url}/coupons/templates", json=body, headers=ctx.bearer("merchant", shop, "m")
    )
    response.raise_for_status()
    return str(response.json()["template_id"])


def _claim_p50(ctx: Any, shop: str, template_id: str, label: str) -> float:
    import requests

    session = requests.Session()
    url = f"{ctx.url}/coupons/templates/{template_id}/claim"
    headers = iter([ctx.bearer("customer", shop, f"lat-{label}-{i}") for i in range(LATENCY_SAMPLES + 10)])

    def one() -> None:
        response = session.post(url, headers=next(headers))
        assert response.status_code == 201, response.text

    samples = ctx.timeit(one, LATENCY_SAMPLES, warmup=5)
    return statistics.median(samples)


def _throughput(ctx: Any, shop: str, template_id: str) -> tuple[float, float, int]:
    """(claims/s, request units per successful claim, successes) for 32 concurrent clients."""
    import requests

    url = f"{ctx.url}/coupons/templates/{template_id}/claim"

    def client(n: int) -> list[tuple[int, float]]:
        session = requests.Session()
        out = []
        for i in range(CLAIMS_PER_CLIENT):
            response = session.post(url, headers=ctx.bearer("customer", shop, f"tp-{n}-{i}"))
            out.append((response.status_code, ctx.units(response.headers.get("X-Request-Units"))))
        return out

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [r for chunk in pool.map(client, range(CLIENTS)) for r in chunk]
    took = time.perf_counter() - start
    won = [units for status, units in results if status == 201]
    return len(won) / took, sum(won) / max(1, len(won)), len(won)


def _raw_claims(ctx: Any) -> float:
    """The three writes of a claim, straight to moto from 32 threads: claims/s."""
    raw = ctx.raw_client(CLIENTS * 2)
    table = ctx.table("coupons")
    run = uuid.uuid4().hex[:8]
    shard = {"pk": {"S": f"bench#raw#{run}#shard"}, "sk": {"S": "stock"}}
    raw.put_item(TableName=table, Item={**shard, "cap": {"N": "1000000"}, "taken": {"N": "0"}})

    def client(n: int) -> None:
        for i in range(CLAIMS_PER_CLIENT):
            customer = f"{run}-{n}-{i}"
            raw.update_item(
                TableName=table,
                Key={"pk": {"S": f"bench#raw#limit#{customer}"}, "sk": {"S": "limit"}},
                UpdateExpression="ADD n :one, holders :h",
                ConditionExpression="(attribute_not_exists(n) OR n < :lim) AND NOT contains(holders, :k)",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":h": {"SS": [customer]},
                    ":k": {"S": customer},
                    ":lim": {"N": "1"},
                },
            )
            raw.update_item(
                TableName=table,
                Key=shard,
                UpdateExpression="SET taken = taken + :one",
                ConditionExpression="taken < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": "1000000"}},
            )
            raw.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"bench#raw#cust#{customer}"},
                    "sk": {"S": f"coupon#{customer}"},
                    "status": {"S": "available"},
                    "amount_off": {"N": "500"},
                    "customer_id": {"S": customer},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return CLIENTS * CLAIMS_PER_CLIENT / (time.perf_counter() - start)


def _coupon_items(shop: str, template_id: str, prefix: str, count: int) -> list[dict[str, Any]]:
    """Coupons and limit records shaped exactly as the service writes them."""
    from datetime import timedelta

    from campaign_shared import clock
    from chalicelib.coupons.store import keys as store

    now, until = clock.iso(clock.now()), clock.iso(clock.now() + timedelta(days=30))
    items = []
    for i in range(count):
        customer, coupon_id = f"{prefix}-{i}", f"cp-{prefix}-{i}"
        items.append(
            {
                **store.coupon_key(shop, customer, coupon_id),
                "coupon_id": coupon_id,
                "template_id": template_id,
                "customer_id": customer,
                "name": "bench",
                "kind": "amount_off",
                "amount_off": 500,
                "min_spend_amount": 0,
                "currency": "CNY",
                "status": "available",
                "issued_at": now,
                "expires_at": until,
                "shard": i % 4,
                "slot": i,
                "source": "bulk",
                "expires_at_epoch": 2_000_000_000,
            }
        )
        items.append({**store.limit_key(shop, template_id, customer), "n": 1, "holders": {f"job:{prefix}"}})
    return items


def _batch_write(ctx: Any, items: list[dict[str, Any]]) -> float:
    """Raw BatchWriteItem of ``items`` (25 per call); seconds taken."""
    from campaign_shared.storage import codec as dynamo

    table = ctx.table("coupons")
    start = time.perf_counter()
    for i in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": dynamo.to_item(item)}} for item in items[i : i + 25]]}
        while request:
            request = ctx.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return time.perf_counter() - start


def _bulk(ctx: Any, shop: str) -> tuple[float, float, dict[str, Any], str]:
    """(job coupons/s, raw items/s, the finished job, template id)."""
    import requests

    template_id = _template(ctx, shop, BULK)
    merchant = ctx.bearer("merchant", shop, "m")
    customers = [f"bulk-{i}" for i in range(BULK)]
    start = time.perf_counter()
    response = requests.post(
        f"{ctx.url}/coupons/templates/{template_id}/issue-jobs",
        json={"customer_ids": customers},
        headers=merchant,
    )
    response.raise_for_status()
    job_url = f"{ctx.url}/coupons/issue-jobs/{response.json()['job_id']}"
    while True:
        job = requests.get(job_url, headers=merchant).json()
        if job["status"] == "done":
            break
        time.sleep(0.5)
    took = time.perf_counter() - start
    coupons = [i for i in _coupon_items(f"{shop}-raw", template_id, "raw", BULK) if i["sk"] != "limit"]
    raw_took = _batch_write(ctx, coupons)
    return job["issued"] / took, len(coupons) / raw_took, job, template_id


def run(ctx: Any) -> list[dict[str, Any]]:
    shop = f"bench-cpn-{uuid.uuid4().hex[:8]}"
    grab = _template(ctx, shop, 1_000_000)
    p50_empty = _claim_p50(ctx, shop, grab, "empty")

    rate, units, won = _throughput(ctx, shop, grab)
    raw_rate = _raw_claims(ctx)
    bulk_rate, raw_bulk_rate, job, bulk_template = _bulk(ctx, shop)

    import requests

    merchant = ctx.bearer("merchant", shop, "m")
    issued = sum(
        requests.get(f"{ctx.url}/coupons/templates/{t}", headers=merchant).json()["issued_count"]
        for t in (grab, bulk_template)
    )
    top_up = max(0, ISSUED - issued)
    _batch_write(ctx, _coupon_items(shop, grab, "seed", top_up))
    p50_full = _claim_p50(ctx, shop, grab, "full")
    return [
        {
            "benchmark": f"claims, {CLIENTS} concurrent customers",
            "metric": "claims/s",
            "value": rate,
            "baseline": raw_rate,
            "ratio": raw_rate / rate,
            "note": f"{won} claims; baseline: the claim's 3 raw writes from {CLIENTS} threads; "
            "ratio = times slower than raw (lower is better)",
        },
        {
            "benchmark": "claims: request units per successful claim",
            "metric": "RU/claim",
            "value": units,
            "baseline": THEORETICAL_UNITS,
            "ratio": units / THEORETICAL_UNITS,
            "note": "baseline: the minimum of any claim design, 3 single-item writes (limit, stock, coupon); "
            "this design adds a 4th, clearing the claim's record on its shard, so a retried stock write "
            "cannot take a second unit (a transactional claim: 6)",
        },
        {
            "benchmark": f"claim p50 with {ISSUED:,} coupons issued vs with 0",
            "metric": "p50 ms",
            "value": p50_full * 1000,
            "baseline": p50_empty * 1000,
            "ratio": p50_full / p50_empty,
            "note": f"n={LATENCY_SAMPLES} each; {top_up:,} of them seeded; target ratio < 1.5",
        },
        {
            "benchmark": f"bulk issue, {BULK:,}-customer job",
            "metric": "coupons/s",
            "value": bulk_rate,
            "baseline": raw_bulk_rate,
            "ratio": raw_bulk_rate / bulk_rate,
            "note": f"issued {job['issued']}, skipped {job['skipped']}, failed {job['failed']}; "
            "baseline: raw BatchWriteItem of the same coupon items; ratio = times slower "
            "(floor: one conditional write per customer, for the limit)",
        },
    ]
