"""10,000 one-time claim links in one batch (a job on the bulk queue) against a raw
BatchWriteItem of the same 10,000 items, in one run (issue 13). Goal: the batch's rate (from
the request to ``done``) ≥ 0.5× the raw writes' rate."""

from __future__ import annotations

import time
import uuid
from typing import Any

LINKS = 10_000


def _raw(ctx: Any, run: str) -> float:
    """Links/s of BatchWriteItem (25 per call) of items shaped like the batch's."""
    raw = ctx.raw_client(4)
    table = ctx.table("coupons")
    items = [
        {
            "pk": {"S": f"bench#raw#cbatch#{run}"},
            "sk": {"S": f"c#{n:06d}"},
            "batch_id": {"S": f"cb-{run}"},
            "index": {"N": str(n)},
            "template_id": {"S": "tpl-bench"},
            "shard": {"N": str(n % 4)},
            "slot": {"N": str(n)},
            "mac": {"S": "abcdefghijklmnopqrstuvwxyz"},
        }
        for n in range(LINKS)
    ]
    start = time.perf_counter()
    for first in range(0, LINKS, 25):
        pending = [{"PutRequest": {"Item": i}} for i in items[first : first + 25]]
        while pending:
            answer = raw.batch_write_item(RequestItems={table: pending})
            pending = answer.get("UnprocessedItems", {}).get(table, [])
    return LINKS / (time.perf_counter() - start)


def _batch(ctx: Any, http: Any, shop: str) -> float:
    merchant = ctx.bearer("merchant", shop, "m1")
    body = {"name": "links", "kind": "amount_off", "amount_off": 100, "total_stock": LINKS}
    tid = http.post(f"{ctx.url}/coupons/templates", json=body, headers=merchant).json()["template_id"]
    start = time.perf_counter()
    answer = http.post(
        f"{ctx.url}/coupons/templates/{tid}/claim-links", json={"count": LINKS}, headers=merchant
    )
    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["batch_id"]
    while True:
        view = http.get(f"{ctx.url}/coupons/code-batches/{batch_id}", headers=merchant).json()
        if view["status"] == "done":
            break
        time.sleep(0.05)
    took = time.perf_counter() - start
    assert view["written"] == LINKS, view
    return LINKS / took


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    http = requests.Session()
    ctx.require_quiet("10,000 one-time links")
    rates, raws = [], []
    for round_ in range(2):  # alternate, so a slower stretch of the run weighs on both
        rates.append(_batch(ctx, http, f"links-{uuid.uuid4().hex[:6]}"))
        raws.append(_raw(ctx, f"{round_}{uuid.uuid4().hex[:6]}"))
    rate, raw = max(rates), max(raws)
    return [
        {
            "benchmark": f"{LINKS:,} one-time claim links in one batch",
            "metric": "links/s",
            "value": rate,
            "baseline": raw,
            "ratio": rate / raw,
            "note": "from the POST to the batch's done (10 chunks on the bulk queue: stock blocks, "
            "BatchWriteItem of the links, the batch's counts) vs raw BatchWriteItem of the same "
            f"items; best of 2 alternating rounds each ({', '.join(f'{r:.0f}' for r in rates)} vs "
            f"{', '.join(f'{r:.0f}' for r in raws)}); goal ≥ 0.5×",
        }
    ]
