"""Suite 5, load: concurrent-ish claims on one template over HTTP on a local stack while a
stream of order events comes in: exactly the stock is issued, every other claim is a 409
``sold_out``, nothing else; the claim p99 is printed. ``make test`` runs the bounded form;
``make soak`` (CAMPAIGN_SOAK=1, -m soak) the full 2,000 claims / 32 clients / stock 500."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests


def _p(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _load(rel, stack, claims: int, stock: int, clients: int, events: int) -> None:
    shop = f"load-{uuid.uuid4().hex[:8]}"

    def headers(role, sub):
        return {"Authorization": f"Bearer {rel.mint(role, shop, sub)}", "Content-Type": "application/json"}

    template = {
        "name": "load",
        "kind": "amount_off",
        "amount_off": 500,
        "total_stock": stock,
        "per_customer_limit": 1,
    }
    created = requests.post(
        f"{stack.url}/coupons/templates", json=template, headers=headers("merchant", "m"), timeout=30
    )
    assert created.status_code == 201, created.text
    tid = created.json()["template_id"]
    claim_headers = [headers("customer", f"c-{i}") for i in range(claims)]
    local = threading.local()
    latencies: list[float] = []
    outcomes: Counter[tuple[int, str | None]] = Counter()
    lock = threading.Lock()

    def claim(i):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        t0 = time.perf_counter()
        response = session.post(
            f"{stack.url}/coupons/templates/{tid}/claim", headers=claim_headers[i], timeout=60
        )
        elapsed = time.perf_counter() - t0
        code = response.json().get("error", {}).get("code") if response.status_code != 201 else None
        with lock:
            latencies.append(elapsed)
            outcomes[(response.status_code, code)] += 1

    event_statuses: Counter[int] = Counter()

    def order_stream():
        storefront = headers("storefront", "store")
        with requests.Session() as session:
            for n in range(events):
                event = {
                    "event_id": f"e-{uuid.uuid4().hex}",
                    "type": "order.paid",
                    "order_id": f"o-{n}",
                    "customer_id": f"buyer-{n}",
                    "occurred_at": "2026-11-11T00:00:05Z",
                    "lines": [
                        {
                            "line_id": "l-1",
                            "product_id": "p-1",
                            "quantity": 1,
                            "unit_amount": 1000,
                            "paid_amount": 1000,
                        }
                    ],
                }
                event_statuses[
                    session.post(
                        f"{stack.url}/events/orders", json=event, headers=storefront, timeout=60
                    ).status_code
                ] += 1

    started = time.perf_counter()
    stream = threading.Thread(target=order_stream)
    stream.start()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(claim, range(claims)))
    stream.join(timeout=120)
    wall = time.perf_counter() - started
    p50, p99 = statistics.median(latencies), _p(latencies, 0.99)
    print(
        f"\n[load] claims={claims} clients={clients} stock={stock} order_events={events} "
        f"outcomes={dict(outcomes)} events={dict(event_statuses)} wall={wall:.1f}s "
        f"throughput={claims / wall:.0f}/s p50={p50 * 1000:.1f}ms p99={p99 * 1000:.1f}ms "
        f"max={max(latencies) * 1000:.1f}ms"
    )
    assert outcomes == Counter({(201, None): stock, (409, "sold_out"): claims - stock}), outcomes
    assert event_statuses == Counter({202: events}), event_statuses
    read = requests.get(
        f"{stack.url}/coupons/templates/{tid}", headers=headers("merchant", "m"), timeout=30
    ).json()
    assert (read["issued_count"], read["remaining_stock"]) == (stock, 0)
    quiet = rel.wait_quiet(stack)
    assert all(q["dlq_depth"] == 0 for q in quiet.values())


def test_load_bounded(rel, local_stack):
    stack = local_stack()
    _load(rel, stack, claims=400, stock=100, clients=16, events=40)


@pytest.mark.soak
def test_load_full_size(rel, local_stack):
    stack = local_stack()
    _load(rel, stack, claims=2000, stock=500, clients=32, events=200)
