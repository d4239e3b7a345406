"""Platform benchmarks: gateway overhead and cold-start import cost.

- Gateway overhead: p50/p99 of ``GET /coupons/health`` and of ``GET /events/whoami`` (token
  check, no storage) over HTTP keep-alive, against one raw DynamoDB GetItem on the same moto
  server in the same run. Target: gateway + handler p50 at most half of one raw GetItem.
- Cold start: import time of each service's app module in a fresh interpreter, against
  ``import boto3`` alone (median of 5 fresh processes each). Target: under 1.5x.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from campaign_shared.resources import SERVICES

N = 400


def _fresh_import(code: str, repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time\nt=time.perf_counter()\n{code}\nprint(time.perf_counter()-t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        timings.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(timings)


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    rows: list[dict[str, Any]] = []
    session = requests.Session()
    table = ctx.table("events")
    key = {"pk": {"S": "bench#raw"}, "sk": {"S": "event"}}
    ctx.dynamodb.put_item(TableName=table, Item={**key, "digest": {"S": "x" * 64}})
    raw = ctx.timeit(lambda: ctx.dynamodb.get_item(TableName=table, Key=key), N)
    raw_p50, raw_p99 = ctx.percentile(raw, 50), ctx.percentile(raw, 99)
    rows.append(
        {
            "benchmark": "raw DynamoDB GetItem (moto)",
            "metric": "p50 ms",
            "value": raw_p50 * 1000,
            "note": f"p99 {raw_p99 * 1000:.2f} ms, n={N}",
        }
    )
    health_url = f"{ctx.url}/coupons/health"
    whoami_url = f"{ctx.url}/events/whoami"
    headers = ctx.bearer("merchant")
    for label, call in (
        ("GET /coupons/health", lambda: session.get(health_url)),
        ("GET /events/whoami (auth, no storage)", lambda: session.get(whoami_url, headers=headers)),
    ):
        samples = ctx.timeit(call, N)
        p50, p99 = ctx.percentile(samples, 50), ctx.percentile(samples, 99)
        rows.append(
            {
                "benchmark": f"gateway: {label}",
                "metric": "p50 ms",
                "value": p50 * 1000,
                "baseline": raw_p50 * 1000,
                "ratio": p50 / raw_p50,
                "note": f"p99 {p99 * 1000:.2f} ms (ratio {p99 / raw_p99:.2f}); target p50 ratio <= 0.5",
            }
        )

    boto3_time = _fresh_import("import boto3")
    rows.append(
        {
            "benchmark": "cold start: import boto3",
            "metric": "import ms",
            "value": boto3_time * 1000,
            "note": "median of 5 fresh processes",
        }
    )
    for service in SERVICES:
        took = _fresh_import(f"from infrastructure.dev.apps import load_app\nload_app({service!r})")
        rows.append(
            {
                "benchmark": f"cold start: import {service} app",
                "metric": "import ms",
                "value": took * 1000,
                "baseline": boto3_time * 1000,
                "ratio": took / boto3_time,
                "note": "target < 1.5x import boto3",
            }
        )
    return rows
