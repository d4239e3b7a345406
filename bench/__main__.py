"""Run the benchmarks against one in-process local stack and write bench/RESULTS.md.

python -m bench                 # every bench_*.py
python -m bench platform wishlist   # only these
"""

from __future__ import annotations

import importlib.util
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-0123456789"


class Context:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.url = stack.url
        self.stage = stack.stage
        self.dynamodb = stack.client("dynamodb")
        self.sqs = stack.client("sqs")

    def bearer(self, role: str = "customer", shop: str = "s1", sub: str = "u1") -> dict[str, str]:
        from campaign_shared.auth import mint

        token = mint(role=role, shop=shop, sub=sub, secret=SECRET)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def raw_client(self, pool: int = 64) -> Any:
        """A raw DynamoDB client to the same moto server, with a connection pool for threads."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.dynamodb.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=pool, retries={"mode": "standard", "max_attempts": 3}),
        )

    @staticmethod
    def percentile(samples: list[float], q: float) -> float:
        return percentile(samples, q)

    @staticmethod
    def units(header: str | None) -> float:
        """Read plus write request units from an ``X-Request-Units`` header."""
        parts = dict(p.split("=", 1) for p in (header or "").split(";") if "=" in p)
        return float(parts.get("read", 0)) + float(parts.get("write", 0))

    def table(self, service: str, logical: str = "main") -> str:
        from campaign_shared.resources import table_name

        return table_name(self.stage, service, logical)

    def busy(self, window: float = 1.0) -> str | None:
        """What else the stack is doing, or None when it is quiet: messages in its queues, or
        storage calls made by somebody else during ``window`` seconds of our silence."""
        from campaign_shared import capacity

        before = capacity.TOTAL.calls
        time.sleep(window)
        others = capacity.TOTAL.calls - before
        depths = {name: q["depth"] for name, q in self.stack.status()["queues"].items() if q["depth"]}
        if not others and not depths:
            return None
        return f"{others} storage calls in {window:g} s not ours, queued messages {depths or 'none'}"

    def require_quiet(self, label: str, timeout: float = 120.0) -> None:
        """Wait (up to ``timeout``) until the stack is quiet; refuse to measure ``label`` when
        it never is, so that no figure is recorded while another load runs on the stack."""
        deadline = time.monotonic() + timeout
        while True:
            doing = self.busy()
            if doing is None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"refusing to measure {label}: the stack is busy ({doing})")

    @staticmethod
    def timeit(fn: Callable[[], Any], n: int, warmup: int = 5) -> list[float]:
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return sorted(samples)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _modules(names: list[str]) -> list[tuple[str, Any]]:
    found = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if names and name not in names:
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append((name, module))
    return found


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def write_results(fresh: dict[str, list[dict[str, Any]]], failures: list[str], seconds: float) -> Path:
    """Merge this run's rows into ``results.json`` (a subset run replaces only its own modules'
    rows) and render the whole table to ``RESULTS.md``."""
    import json

    store = HERE / "results.json"
    saved: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for module, rows in fresh.items():
        saved[module] = {"measured": stamp, "seconds": round(seconds), "rows": rows}
    store.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"Rendered by `make bench` ({platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {_cores()} cores). Each module's rows come from one run of that module "
        "(the measured column); ratios are measured side by side in that run against the same "
        "embedded moto server; lower is better unless the note says otherwise.",
        "",
        "| benchmark | metric | value | baseline | ratio | note | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for module in sorted(saved, key=lambda m: (m != "platform", m)):
        for row in saved[module]["rows"]:
            lines.append(
                "| {benchmark} | {metric} | {value} | {baseline} | {ratio} | {note} | {measured} |".format(
                    benchmark=row.get("benchmark", ""),
                    metric=row.get("metric", ""),
                    value=_fmt(row.get("value")),
                    baseline=_fmt(row.get("baseline")),
                    ratio=_fmt(row.get("ratio")),
                    note=str(row.get("note", "")).replace("|", "/"),
                    measured=saved[module]["measured"],
                )
            )
    if failures:
        lines += ["", "## Benchmarks that failed in the last run", ""] + [f"- {f}" for f in failures]
    path = HERE / "RESULTS.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    import os

    from infrastructure.local.stack import LocalStack

    os.environ["CAMPAIGN_JWT_SECRET"] = SECRET
    started = time.perf_counter()
    stack = LocalStack(port=0, data_dir=None, jwt_secret=SECRET, stage="bench").start()
    fresh: dict[str, list[dict[str, Any]]] = {}
    failures: list[str] = []
    try:
        ctx = Context(stack)
        for name, module in _modules(argv):
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            try:
                got = module.run(ctx)
                fresh[name] = got
                for row in got:
                    print(
                        "   ", {k: row.get(k) for k in ("benchmark", "metric", "value", "ratio")}, flush=True
                    )
            except Exception:
                failures.append(f"{name}: {traceback.format_exc(limit=3).strip().splitlines()[-1]}")
                traceback.print_exc()
            print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    finally:
        stack.stop()
    path = write_results(fresh, failures, time.perf_counter() - started)
    print(f"wrote {path}")
    from bench import cost

    print(f"wrote {cost.write()}")
    return 1 if failures else 0


# Re-exported for bench modules.
median = statistics.median

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
