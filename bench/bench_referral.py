"""Referral benchmarks (issue 6).

- Visits recorded per second by 32 concurrent storefront clients on ONE hot channel, against
  the same two raw DynamoDB writes a visit costs (conditional PutItem of the visitor marker +
  UpdateItem ADD of a counter) issued by 32 threads on the same moto server. The shard spread
  shows that the hot channel's visits land on ``VISIT_SHARDS`` partition keys, not one.
- ``GET /referral/report`` p50 with 1,000 codes in the shop: the first page (50 codes) and
  the whole report (5 pages of 200), against raw Queries of the same pages of code items; and
  the first page with 100 codes, to show the page cost stays flat as the shop grows.

moto answers a Query by scanning the whole table and spends about as long again serializing
each item it returns, so its own cost grows with every shop's codes and with the page size;
the ratio to the raw Queries in the same run is the report's own cost.

moto serializes storage requests (DESIGN.md), so throughput is bounded by moto; the ratio
against raw calls in the same run is the figure to read.
"""

from __future__ import annotations

import concurrent.futures
import random
import time
import uuid
from typing import Any

CLIENTS = 32
VISITS_PER_CLIENT = 20
CODES = 1_000
SMALL = 100


def _parallel(jobs: list[Any], workers: int) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _visits(ctx: Any) -> list[dict[str, Any]]:
    import requests

    shop = f"bench-ref-{uuid.uuid4().hex[:8]}"
    merchant = ctx.bearer("merchant", shop, "m")
    channel = requests.post(
        f"{ctx.url}/referral/channels", json={"name": "hot poster"}, headers=merchant
    ).json()
    code = channel["code"]
    storefront = ctx.bearer("storefront", shop, "sf")
    latencies: list[float] = []
    failures = 0

    def client(n: int) -> None:
        nonlocal failures
        session = requests.Session()
        for i in range(VISITS_PER_CLIENT):
            visitor = f"v{n}-{i % 10}"  # each visitor comes back: 10 unique per client
            started = time.perf_counter()
            response = session.post(
                f"{ctx.url}/referral/visits", json={"code": code, "visitor_id": visitor}, headers=storefront
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 202:
                failures += 1

    started = time.perf_counter()
    _parallel([lambda n=n: client(n) for n in range(CLIENTS)], CLIENTS)
    elapsed = time.perf_counter() - started
    total = CLIENTS * VISITS_PER_CLIENT
    rate = total / elapsed

    row = requests.get(f"{ctx.url}/referral/report?code={code}", headers=merchant).json()["items"][0]
    from chalicelib.referral import domain
    from chalicelib.referral.store import keys

    counts = []  # shard items have distinct partition keys: read each back
    for n in range(domain.VISIT_SHARDS):
        item = ctx.dynamodb.get_item(
            TableName=ctx.table("referral", "stats"), Key=keys.visits_key(shop, code, n)
        )
        counts.append(int(item.get("Item", {}).get("visits", {}).get("N", "0")))

    # the raw baseline: the same two writes per visit, 32 threads, same server
    raw = ctx.raw_client(CLIENTS * 2)
    visitors_table, stats_table = ctx.table("referral", "visitors"), ctx.table("referral", "stats")

    shards = domain.VISIT_SHARDS

    def raw_client(n: int) -> None:
        from botocore.exceptions import ClientError

        for i in range(VISITS_PER_CLIENT):
            try:
                raw.put_item(
                    TableName=visitors_table,
                    Item={"pk": {"S": f"raw#{shop}#{n}-{i % 10}"}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError:
                pass
            raw.update_item(
                TableName=stats_table,
                Key={"pk": {"S": f"raw#{shop}#{random.randrange(shards)}"}, "sk": {"S": "visits"}},
                UpdateExpression="ADD visits :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    started = time.perf_counter()
    _parallel([lambda n=n: raw_client(n) for n in range(CLIENTS)], CLIENTS)
    raw_rate = total / (time.perf_counter() - started)
    return [
        {
            "benchmark": f"referral: POST /visits, {CLIENTS} clients, one hot channel",
            "metric": "visits/s",
            "value": rate,
            "baseline": raw_rate,
            "ratio": rate / raw_rate,
            "note": (
                f"{total} visits, p50 {ctx.percentile(latencies, 50) * 1000:.1f} ms, "
                f"{failures} non-202; report "
                f"counted {row['visits']} visits / {row['unique_visitors']} unique "
                f"(expected {total} / {CLIENTS * 10}); "
                f"spread over {sum(1 for c in counts if c)} of {len(counts)} shard partitions, busiest "
                f"{max(counts) * 100 // max(1, sum(counts))}%; baseline = the 2 raw writes per visit, "
                "higher is better"
            ),
        }
    ]


def _seed_codes(ctx: Any, shop: str, count: int, via_api: int = 20) -> list[str]:
    """``via_api`` codes through ``POST /referral/codes``, the rest written straight into the codes
    table with the service's own key builder (1,000 HTTP creations would take most of the
    bench's time budget on moto and measure nothing the report depends on)."""
    import requests

    from campaign_shared import ids
    from chalicelib.referral import domain
    from chalicelib.referral.store import keys

    session = requests.Session()
    codes = []
    for i in range(via_api):
        response = session.post(
            f"{ctx.url}/referral/codes", headers=ctx.bearer("customer", shop, f"api{i:05d}")
        )
        assert response.status_code == 201, response.text
        codes.append(response.json()["code"])
    table = ctx.table("referral", "codes")
    items = []
    for i in range(count - via_api):
        code = domain.CODE_PREFIX["customer"] + ids.short_code(domain.CODE_LENGTH - 1)
        codes.append(code)
        item = {
            **keys.code_key(shop, code),
            "kind": {"S": "customer"},
            "owner_id": {"S": f"c{i:05d}"},
            "created_at": {"S": "2026-11-11T00:00:00Z"},
        }
        items.append({"PutRequest": {"Item": item}})
    for start in range(0, len(items), 25):
        request = {table: items[start : start + 25]}
        while request:
            request = ctx.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return codes


def _report(ctx: Any) -> list[dict[str, Any]]:
    import requests

    rows: list[dict[str, Any]] = []
    big, small = f"bench-ref-{uuid.uuid4().hex[:8]}", f"bench-ref-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    codes = _seed_codes(ctx, big, CODES)
    _seed_codes(ctx, small, SMALL)
    seed_seconds = time.perf_counter() - started
    storefront = ctx.bearer("storefront", big, "sf")
    session = requests.Session()
    for i, code in enumerate(random.sample(codes, 100)):
        session.post(
            f"{ctx.url}/referral/visits", json={"code": code, "visitor_id": f"v{i}"}, headers=storefront
        )

    from chalicelib.referral import domain
    from chalicelib.referral.store import keys

    codes_table = ctx.table("referral", "codes")

    def raw_page(shop: str, limit: int) -> None:
        ctx.dynamodb.query(
            TableName=codes_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.codes_pk(shop)}},
            Limit=limit,
        )

    def page(shop: str, limit: int) -> Any:
        response = session.get(
            f"{ctx.url}/referral/report?limit={limit}", headers=ctx.bearer("merchant", shop, "m")
        )
        assert response.status_code == 200, response.text
        return response.json()

    def walk() -> int:
        seen, cursor = 0, None
        merchant = ctx.bearer("merchant", big, "m")
        while True:
            url = f"{ctx.url}/referral/report?limit=200" + (f"&cursor={cursor}" if cursor else "")
            body = session.get(url, headers=merchant).json()
            seen += len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return seen

    def raw_walk() -> None:
        params: dict[str, Any] = {
            "TableName": codes_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.codes_pk(big)}},
            "Limit": 200,
        }
        while True:
            last = ctx.dynamodb.query(**params).get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    assert walk() == CODES
    for label, shop, limit, n in (
        (f"first page (50 codes) of {CODES}", big, 50, 15),
        (f"first page (50 codes) of {SMALL}", small, 50, 15),
    ):
        ours = ctx.timeit(lambda shop=shop, limit=limit: page(shop, limit), n, warmup=2)
        raw = ctx.timeit(lambda shop=shop, limit=limit: raw_page(shop, limit), n, warmup=2)
        rows.append(
            {
                "benchmark": f"referral: GET /report, {label}",
                "metric": "p50 ms",
                "value": ctx.percentile(ours, 50) * 1000,
                "baseline": ctx.percentile(raw, 50) * 1000,
                "ratio": ctx.percentile(ours, 50) / ctx.percentile(raw, 50),
                "note": (
                    f"max {max(ours) * 1000:.1f} ms, n={n}; baseline = raw Query of the same page of "
                    f"code items (the report adds BatchGetItem of 1 summary + {domain.VISIT_SHARDS} visit "
                    "shards per code)"
                ),
            }
        )
    whole = ctx.timeit(walk, 3, warmup=0)
    raw_whole = ctx.timeit(raw_walk, 3, warmup=0)
    rows.append(
        {
            "benchmark": f"referral: GET /report, all {CODES} codes (5 pages of 200)",
            "metric": "p50 ms",
            "value": ctx.percentile(whole, 50) * 1000,
            "baseline": ctx.percentile(raw_whole, 50) * 1000,
            "ratio": ctx.percentile(whole, 50) / ctx.percentile(raw_whole, 50),
            "note": (
                f"n=3; baseline = the 5 raw Query pages; seeding {CODES + SMALL} codes took "
                f"{seed_seconds:.1f} s"
            ),
        }
    )
    return rows


def run(ctx: Any) -> list[dict[str, Any]]:
    from infrastructure.dev.apps import load_app

    load_app("referral")  # the bench reads shard keys with the service's own key builders
    return _visits(ctx) + _report(ctx)
