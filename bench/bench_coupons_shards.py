"""A flash grab through 1, 8 and 64 stock shards under 32 clients, in one run (issue 13).

Each grab: a template of ``STOCK`` units, 32 clients claiming with fresh customers until
each has seen ``sold_out``. Rows: claims/s (ratio to the 1-shard grab), write units per
issued coupon, and whether the whole stock was issued. Then the fallback: 64 shards holding
``SPARSE`` units, so most shards run empty early and the last units are found only by
falling back across the empty ones; and ``add_stock`` during a 32-client grab, where the
issued count must equal the final stock exactly.

The local stack serves DynamoDB behind one lock (moto), so shards cannot add throughput
here; what this shows locally is that more shards cost nothing per claim and that the stock
is issued exactly. The throughput a shard buys on AWS is in bench/README.md.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from typing import Any

CLIENTS = 32
STOCK = 400
SPARSE = 80  # over 64 shards: 16 shards of 2 units, 48 of 1
ADD_START, ADD_MORE = 200, 150


def _template(ctx: Any, http: Any, shop: str, stock: int, shards: int) -> str:
    body = {
        "name": "grab",
        "kind": "amount_off",
        "amount_off": 100,
        "total_stock": stock,
        "stock_shards": shards,
    }
    answer = http.post(f"{ctx.url}/coupons/templates", json=body, headers=ctx.bearer("merchant", shop, "m1"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["template_id"])


def _grab(ctx: Any, shop: str, tid: str, stop: list[float] | None = None) -> tuple[int, float, float]:
    """32 clients claim until each sees sold_out (with ``stop``: on a claim sent after the
    moment ``stop`` is given): (coupons issued, seconds, write units per issued coupon)."""
    import requests

    url = f"{ctx.url}/coupons/templates/{tid}/claim"

    def client(n: int) -> tuple[int, float]:
        session, won, units, i = requests.Session(), 0, 0.0, 0
        while True:
            i += 1
            sent = time.monotonic()
            answer = session.post(url, headers=ctx.bearer("customer", shop, f"g{n}-{i}"))
            units += ctx.units(answer.headers.get("X-Request-Units"))
            if answer.status_code == 201:
                won += 1
                continue
            assert answer.status_code == 409, answer.text
            if stop is None or (stop and sent > stop[0]):
                return won, units

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    took = time.perf_counter() - start
    issued = sum(w for w, _ in results)
    return issued, took, sum(u for _, u in results) / max(1, issued)


def _issued(ctx: Any, http: Any, shop: str, tid: str) -> dict[str, Any]:
    answer = http.get(f"{ctx.url}/coupons/templates/{tid}", headers=ctx.bearer("merchant", shop, "m1"))
    return dict(answer.json())


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    http = requests.Session()
    rows: list[dict[str, Any]] = []
    base_rate = None
    for shards in (1, 8, 64):
        shop = f"shards-{shards}-{uuid.uuid4().hex[:6]}"
        tid = _template(ctx, http, shop, STOCK, shards)
        ctx.require_quiet(f"a grab through {shards} shards")
        issued, took, units = _grab(ctx, shop, tid)
        shown = _issued(ctx, http, shop, tid)
        assert issued == shown["issued_count"] == STOCK, (issued, shown)
        rate = issued / took
        base_rate = base_rate or rate
        rows.append(
            {
                "benchmark": f"flash grab, {STOCK} units over {shards} shard(s), {CLIENTS} clients",
                "metric": "claims/s",
                "value": rate,
                "baseline": base_rate,
                "ratio": rate / base_rate,
                "note": f"issued {issued}/{STOCK} exactly; {units:.1f} write+read units per coupon "
                "(sold-out answers included); baseline: the 1-shard grab",
            }
        )

    shop = f"sparse-{uuid.uuid4().hex[:6]}"
    tid = _template(ctx, http, shop, SPARSE, 64)
    ctx.require_quiet("the shard fallback")
    issued, took, units = _grab(ctx, shop, tid)
    assert issued == SPARSE == _issued(ctx, http, shop, tid)["issued_count"]
    rows.append(
        {
            "benchmark": f"shard fallback: {SPARSE} units over 64 shards, {CLIENTS} clients",
            "metric": "issued / stock",
            "value": issued / SPARSE,
            "baseline": 1.0,
            "ratio": issued / SPARSE,
            "note": "most shards run empty after a few claims; the last units are found by falling back "
            f"across the empty ones ({units:.1f} units per coupon)",
        }
    )

    shop = f"add-{uuid.uuid4().hex[:6]}"
    tid = _template(ctx, http, shop, ADD_START, 8)
    ctx.require_quiet("add_stock during a grab")
    added: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as one:
        grab = one.submit(_grab, ctx, shop, tid, added)
        while _issued(ctx, http, shop, tid)["issued_count"] < ADD_START // 2:
            time.sleep(0.05)
        edit = http.patch(
            f"{ctx.url}/coupons/templates/{tid}",
            json={"add_stock": ADD_MORE},
            headers={**ctx.bearer("merchant", shop, "m1"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert edit.status_code == 200, edit.text
        added.append(time.monotonic())
        issued, _, _ = grab.result()
    shown = _issued(ctx, http, shop, tid)
    final = shown["total_stock"]
    assert issued == shown["issued_count"] == final == ADD_START + ADD_MORE, (issued, shown)
    rows.append(
        {
            "benchmark": f"add_stock {ADD_MORE} to {ADD_START} during a {CLIENTS}-client grab (8 shards)",
            "metric": "issued / final stock",
            "value": issued / final,
            "baseline": 1.0,
            "ratio": issued / final,
            "note": f"issued {issued}, final total_stock {final}: exact",
        }
    )
    return rows
