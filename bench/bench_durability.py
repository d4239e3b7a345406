"""Durability benchmarks: the local stack's journal (``infrastructure/local/journal.py``).

- **Claims per second with the journal on ÷ off**: two ``campaign local`` stacks in
  subprocesses, one with a data folder (every storage call journalled before it is answered)
  and one with ``--no-data``, measured one after the other, alternating, 32 concurrent
  customers claiming one template each round. Goal: ratio >= 0.8.
- **Disk after 100,000 claims, journal + snapshot vs the snapshot alone**: the journal lines
  the real claims of the run above wrote (captured from the journalled stack's segment
  files) are appended again with their customer and coupon ids renumbered until 100,000
  claims are journalled, through the same ``Store`` and its background compaction; the
  folder is measured once compaction is idle (and its peak is noted), then a stack restarted
  on it and stopped cleanly folds everything into one snapshot: the baseline. Goal <= 2x.
- **Restart time with 100,000 claims' items** (over 200,000 items: a coupon and a limit
  record per claim): ``campaign local`` started on that folder, first as a crash left it
  (snapshot + journal segments), then after the clean stop (one snapshot), until it answers
  ``/events/health``; baseline: the same start on an empty folder. Goal <= 30 s.

``BENCH_DURABILITY_CLAIMS`` (claims per round, default 320) and ``BENCH_DURABILITY_TARGET``
(default 100,000) scale the run.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLIENTS = 32
ROUNDS = 2
CLAIMS = int(os.environ.get("BENCH_DURABILITY_CLAIMS", "320"))
TARGET = int(os.environ.get("BENCH_DURABILITY_TARGET", "100000"))
STAGE = "bench-durable"
ROOT = Path(__file__).resolve().parent.parent
COUPON_ID = re.compile(r"cp-[0-9a-z]{20,}")


class Stack:
    """``campaign local`` in a subprocess."""

    def __init__(self, data: Path | None, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "infrastructure.local", "--port", str(self.port), "--stage", STAGE]
        args += ["--data", str(data)] if data is not None else ["--no-data"]
        self.log = log
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "ERROR", "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        with log.open("w") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.startup = self._wait_ready(started)

    def _wait_ready(self, started: float) -> float:
        import requests

        while time.perf_counter() - started < 300:
            if self.process.poll() is not None:
                raise RuntimeError(f"stack exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/events/health", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("stack did not start")

    def restored(self) -> int:
        """The items it loaded (printed just after it starts answering)."""
        for _ in range(200):
            found = re.search(r"restored items: (\d+)", self.log.read_text())
            if found:
                return int(found.group(1))
            time.sleep(0.05)
        raise RuntimeError(f"no restored count in {self.log}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=600)


def _claims(ctx: Any, url: str, shop: str, template_id: str, label: str) -> tuple[float, int]:
    """(claims/s, successes) for CLIENTS concurrent customers claiming CLAIMS in all."""
    import requests

    per_client = max(1, CLAIMS // CLIENTS)

    def client(n: int) -> int:
        session = requests.Session()
        won = 0
        for i in range(per_client):
            headers = ctx.bearer("customer", shop, f"dz-{label}-{n}-{i}")
            response = session.post(
                f"{url}/coupons/templates/{template_id}/claim", headers=headers, timeout=120
            )
            won += response.status_code == 201
        return won

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        won = sum(pool.map(client, range(CLIENTS)))
    return won / (time.perf_counter() - start), won


def _template(ctx: Any, url: str, shop: str) -> str:
    import requests

    body = {
        "name": "durable",
        "kind": "amount_off",
        "amount_off": 100,
        "total_stock": 10**6,
        "valid_days": 30,
    }
    response = requests.post(f"{url}/coupons/templates", json=body, headers=ctx.bearer("merchant", shop, "m"))
    response.raise_for_status()
    return str(response.json()["template_id"])


def _segment_mark(folder: Path) -> tuple[str, int]:
    import json

    name = json.loads((folder / "MANIFEST").read_text())["segments"][-1]
    return name, (folder / name).stat().st_size


def _claim_lines(folder: Path, marks: list[tuple[str, int, str, int]]) -> list[list[list[str]]]:
    """The journal lines written between each (start, end) mark that touch only coupon items."""
    from infrastructure.local.journal import read_lines

    lines = []
    for start_name, start_size, end_name, end_size in marks:
        assert start_name == end_name, "a compaction rotated the segment during a round; raise the threshold"
        with (folder / start_name).open("rb") as handle:
            handle.seek(start_size)
            chunk = handle.read(end_size - start_size)
        tmp = folder.parent / "chunk.log"
        tmp.write_bytes(chunk)
        for ops in read_lines(tmp):
            if all(op[0] in "PD" and op[1].endswith("-coupons-main") for op in ops):
                lines.append(ops)
        tmp.unlink()
    return lines


def _renumber(ops: list[list[str]], copy: int) -> list[tuple[str, ...]]:
    def field(text: str) -> str:
        text = text.replace("dz-", f"dz{copy}-")
        return COUPON_ID.sub(lambda m: f"{m.group(0)}x{copy}", text)

    return [(op[0], op[1], *(field(f) for f in op[2:])) for op in ops]


def _disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _journal_claims(folder: Path, lines: list[list[list[str]]], copies: int) -> dict[str, Any]:
    """Append ``lines`` ``copies`` times (renumbered) through the real Store, compaction on."""
    from infrastructure.local.journal import Store
    from infrastructure.local.persistence import DEFAULT_COMPACT_BYTES

    store = Store(folder, min_compact_bytes=DEFAULT_COMPACT_BYTES)
    store.open()
    store.start()
    peak = 0
    started = time.perf_counter()
    for copy in range(copies):
        for ops in lines:
            store.append(_renumber(ops, copy))
            if store.wants_compaction():
                store.request_compaction()
        if copy % 20 == 0:
            peak = max(peak, _disk(folder))
    store.wait_idle()
    took = time.perf_counter() - started
    final = _disk(folder)
    result = {
        "disk": final,
        "peak": max(peak, final),
        "journal": store.journal_bytes,
        "snapshot": store.snapshot_bytes,
        "compactions": store.compactions,
        "longest": store.longest_compaction,
        "seconds": took,
    }
    # as a kill -9 leaves it: the journal file as written, nothing folded
    store._closing = True
    store._wake.set()
    if store._thread is not None:
        store._thread.join()
    if store._fd is not None:
        os.close(store._fd)
        store._fd = None
    return result


def run(ctx: Any) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="bench-durability-"))
    try:
        return _run(ctx, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(ctx: Any, work: Path) -> list[dict[str, Any]]:
    data = work / "data"
    on = Stack(data, work / "on.log")
    off = Stack(None, work / "off.log")
    empty_start = on.startup
    rates: dict[str, list[float]] = {"on": [], "off": []}
    won_on = 0
    marks = []
    try:
        templates = {label: _template(ctx, s.url, "bench-d") for label, s in (("on", on), ("off", off))}
        for round_ in range(ROUNDS):
            for label, stack in (("off", off), ("on", on)) if round_ % 2 else (("on", on), ("off", off)):
                if label == "on":
                    start = _segment_mark(data)
                rate, won = _claims(ctx, stack.url, "bench-d", templates[label], f"{label}{round_}")
                rates[label].append(rate)
                if label == "on":
                    marks.append((*start, *_segment_mark(data)))
                    won_on += won
        lines = _claim_lines(data, marks)
    finally:
        off.stop()
        on.stop()
    on_rate, off_rate = statistics.median(rates["on"]), statistics.median(rates["off"])
    rows = [
        {
            "benchmark": "durability: claims, 32 concurrent customers, journal on vs off",
            "metric": "claims/s",
            "value": on_rate,
            "baseline": off_rate,
            "ratio": on_rate / off_rate,
            "note": f"median of {ROUNDS} alternating rounds of {CLAIMS} claims each; on: "
            + ", ".join(f"{r:.1f}" for r in rates["on"])
            + "; off: "
            + ", ".join(f"{r:.1f}" for r in rates["off"])
            + "; higher is better, goal ratio >= 0.8",
        }
    ]

    copies = math.ceil(TARGET / won_on)
    journalled = _journal_claims(data, lines, copies)
    claims = copies * won_on
    crashed = Stack(data, work / "crashed.log")
    crash_start, items = crashed.startup, crashed.restored()
    crashed.stop()  # a clean stop folds everything into one snapshot
    snapshot_alone = _disk(data)
    clean = Stack(data, work / "clean.log")
    clean_start = clean.startup
    clean.stop()
    mb = 1 << 20
    rows += [
        {
            "benchmark": f"durability: disk after {claims:,} claims, journal + snapshot vs snapshot alone",
            "metric": "MB",
            "value": journalled["disk"] / mb,
            "baseline": snapshot_alone / mb,
            "ratio": journalled["disk"] / snapshot_alone,
            "note": f"{journalled['snapshot'] / mb:.1f} MB snapshot + "
            f"{journalled['journal'] / mb:.1f} MB journal "
            f"after {journalled['compactions']} background compactions (the longest "
            f"{journalled['longest']:.1f} s); peak while compacting "
            f"{journalled['peak'] / mb:.1f} MB ({journalled['peak'] / snapshot_alone:.2f}x); "
            f"{len(lines) / won_on:.1f} journal lines per claim from {won_on} real claims, renumbered; "
            f"appended in {journalled['seconds']:.0f} s; goal ratio <= 2",
        },
        {
            "benchmark": f"durability: restart with {items:,} items after a crash (snapshot + journal)",
            "metric": "s",
            "value": crash_start,
            "baseline": empty_start,
            "ratio": crash_start / empty_start,
            "note": "campaign local until /events/health answers; baseline: the same on an empty folder; "
            "goal <= 30 s",
        },
        {
            "benchmark": f"durability: restart with {items:,} items after a clean stop (one snapshot)",
            "metric": "s",
            "value": clean_start,
            "baseline": empty_start,
            "ratio": clean_start / empty_start,
            "note": "goal <= 30 s",
        },
    ]
    return rows
