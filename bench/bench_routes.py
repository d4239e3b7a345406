"""Every public route of the API on the local stack: p50 and p99 over HTTP, the request units
and storage calls one call costs (from the platform's accounting, ``X-Request-Units``), and the
ratio of the route's p50 to its raw calls: the very AWS calls (DynamoDB, SNS, SQS) one request
of the route made, recorded from the services' own clients and replayed with a raw boto3
client on the same moto server, in the same run: each route call is followed by a replay of
its raw calls, 100 times, so that a drift in the machine's load falls on both sides alike.

Every figure is taken on a quiet stack: before the baseline and before each route the
benchmark waits until no queue holds messages and nobody else makes storage calls, and
refuses to record (an error, no row) when that does not happen within two minutes.

A ratio near 1 means the route costs what its storage calls cost; the gateway, auth, parsing
and the handler add the rest. Non-idempotent POSTs (claims, signups, reservations) use a fresh
customer per call, so each sample does the full work.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

N = 100


def _ok(response: Any, status: int = 200) -> Any:
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


AWS_SERVICES = ("dynamodb", "sns", "sqs")


class Recorder:
    """The AWS calls the services make while ``recording()``: (service, operation, params),
    from a hook on each of the process's shared clients (``campaign_shared.aws``)."""

    def __init__(self) -> None:
        from campaign_shared import aws

        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._on = False
        self._lock = threading.Lock()
        for name in AWS_SERVICES:
            aws.client(name).meta.events.register(
                f"provide-client-params.{name}.*", self._hook, unique_id=f"bench-recorder-{name}"
            )

    def _hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._on:
            with self._lock:
                self.calls.append((model.service_model.endpoint_prefix, model.name, copy.deepcopy(params)))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
        with self._lock:
            self.calls = []
            self._on = True
        try:
            yield self.calls
        finally:
            self._on = False


def _replayer(ctx: Any) -> Callable[[list[tuple[str, str, dict[str, Any]]]], None]:
    """Make recorded calls again with raw boto3 clients on the stack's moto server (a refused
    condition is an answer like any other: it took the same round trip)."""
    import boto3
    from botocore.exceptions import ClientError

    endpoint = ctx.dynamodb.meta.endpoint_url
    clients = {
        name: boto3.session.Session().client(
            name,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for name in AWS_SERVICES
    }

    def replay(calls: list[tuple[str, str, dict[str, Any]]]) -> None:
        from botocore import xform_name

        for service, operation, params in calls:
            try:
                getattr(clients[service], xform_name(operation))(**params)
            except ClientError:
                pass

    return replay


def _side_by_side(
    route: Callable[[], Any], raw: Callable[[], Any], n: int
) -> tuple[list[float], list[float]]:
    """``n`` timings of each, alternating route and raw call, so that a drift in the machine's
    load falls on both sides alike."""
    route_samples, raw_samples = [], []
    for _ in range(2):
        route()
        raw()
    for _ in range(n):
        start = time.perf_counter()
        route()
        route_samples.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        raw_samples.append(time.perf_counter() - start)
    return sorted(route_samples), sorted(raw_samples)


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    http = requests.Session()
    url = ctx.url
    shop = f"routes-{uuid.uuid4().hex[:8]}"
    merchant = ctx.bearer("merchant", shop, "m1")
    storefront = ctx.bearer("storefront", shop, "store")
    counter = itertools.count()

    def customer(prefix: str = "c") -> dict[str, str]:
        return ctx.bearer("customer", shop, f"{prefix}-{next(counter)}")

    alice = ctx.bearer("customer", shop, "alice")

    # ---- fixtures: one of everything --------------------------------------------------
    template = _ok(
        http.post(
            f"{url}/coupons/templates",
            json={"name": "bench", "kind": "amount_off", "amount_off": 500, "total_stock": 100_000},
            headers=merchant,
        ),
        201,
    )
    tid = template["template_id"]
    coupon = _ok(http.post(f"{url}/coupons/templates/{tid}/claim", headers=alice), 201)
    cart = {
        "coupon_id": coupon["coupon_id"],
        "lines": [{"product_id": "p-1", "quantity": 2, "unit_amount": 1500}],
    }
    rules = {"default_rate_bps": 1000, "parent_rate_bps": 500, "settle_after_days": 7, "auto_approve": True}
    _ok(http.put(f"{url}/distribution/rules", json=rules, headers=merchant))
    _ok(http.post(f"{url}/distribution/distributors", json={}, headers=alice), 201)
    wish = _ok(http.post(f"{url}/wishlist/lists", json={"title": "Birthday"}, headers=alice), 201)
    list_id = wish["list_id"]
    item = _ok(
        http.post(
            f"{url}/wishlist/lists/{list_id}/items",
            json={"product_id": "p-1", "name": "Lamp", "unit_amount": 19900, "quantity": 999},
            headers=alice,
        ),
        201,
    )
    share = _ok(http.post(f"{url}/wishlist/lists/{list_id}/share", headers=alice), 201)
    token = share["share_token"]
    program = {"referrer_template_id": tid, "referee_template_id": tid, "min_order_amount": 0}
    _ok(http.put(f"{url}/referral/program", json=program, headers=merchant))
    code = _ok(http.post(f"{url}/referral/codes", headers=alice), 201)["code"]
    channel = _ok(http.post(f"{url}/referral/channels", json={"name": "poster"}, headers=merchant), 201)

    def event() -> dict[str, Any]:
        n = next(counter)
        return {
            "event_id": f"e-{uuid.uuid4().hex}",
            "type": "order.paid",
            "order_id": f"o-{n}",
            "customer_id": f"buyer-{n}",
            "occurred_at": "2026-11-11T00:00:05Z",
            "lines": [
                {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 100, "paid_amount": 100}
            ],
        }

    routes: list[tuple[str, int, Callable[[], Any]]] = [
        ("GET /coupons/health", 200, lambda: http.get(f"{url}/coupons/health")),
        (
            "POST /coupons/templates",
            201,
            lambda: http.post(
                f"{url}/coupons/templates",
                json={"name": "b", "kind": "amount_off", "amount_off": 100, "total_stock": 10},
                headers=merchant,
            ),
        ),
        (
            "GET /coupons/templates/{id}",
            200,
            lambda: http.get(f"{url}/coupons/templates/{tid}", headers=merchant),
        ),
        (
            "POST /coupons/templates/{id}/claim",
            201,
            lambda: http.post(f"{url}/coupons/templates/{tid}/claim", headers=customer("claim")),
        ),
        ("GET /coupons/me", 200, lambda: http.get(f"{url}/coupons/me", headers=alice)),
        (
            "POST /coupons/validate",
            200,
            lambda: http.post(f"{url}/coupons/validate", json=cart, headers=alice),
        ),
        (
            "POST /coupons/{id}/lock (same order)",
            200,
            lambda: http.post(
                f"{url}/coupons/{coupon['coupon_id']}/lock", json={"order_id": "o-bench"}, headers=alice
            ),
        ),
        (
            "PUT /distribution/rules",
            200,
            lambda: http.put(f"{url}/distribution/rules", json=rules, headers=merchant),
        ),
        (
            "POST /distribution/distributors",
            201,
            lambda: http.post(f"{url}/distribution/distributors", json={}, headers=customer("dist")),
        ),
        (
            "POST /distribution/links",
            201,
            lambda: http.post(f"{url}/distribution/links", json={"product_id": "p-1"}, headers=alice),
        ),
        (
            "GET /distribution/me/balance",
            200,
            lambda: http.get(f"{url}/distribution/me/balance", headers=alice),
        ),
        (
            "GET /distribution/me/commissions",
            200,
            lambda: http.get(f"{url}/distribution/me/commissions", headers=alice),
        ),
        (
            "GET /distribution/distributors/{id}/balance",
            200,
            lambda: http.get(f"{url}/distribution/distributors/alice/balance", headers=merchant),
        ),
        (
            "POST /wishlist/lists",
            201,
            lambda: http.post(f"{url}/wishlist/lists", json={"title": "t"}, headers=customer("wl")),
        ),
        ("GET /wishlist/lists/{id}", 200, lambda: http.get(f"{url}/wishlist/lists/{list_id}", headers=alice)),
        (
            "GET /wishlist/shared/{token}",
            200,
            lambda: http.get(f"{url}/wishlist/shared/{token}", headers=customer("friend")),
        ),
        (
            "POST /wishlist/shared/{token}/items/{id}/reservations",
            201,
            lambda: http.post(
                f"{url}/wishlist/shared/{token}/items/{item['item_id']}/reservations",
                json={"quantity": 1},
                headers=customer("friend"),
            ),
        ),
        ("POST /referral/codes (existing)", 201, lambda: http.post(f"{url}/referral/codes", headers=alice)),
        (
            "POST /referral/channels",
            201,
            lambda: http.post(f"{url}/referral/channels", json={"name": "store"}, headers=merchant),
        ),
        (
            "GET /referral/channels/{id}/qr.svg",
            200,
            lambda: http.get(f"{url}/referral/channels/{channel['channel_id']}/qr.svg", headers=merchant),
        ),
        (
            "POST /referral/visits",
            202,
            lambda: http.post(
                f"{url}/referral/visits",
                json={"code": code, "visitor_id": f"v-{next(counter)}"},
                headers=storefront,
            ),
        ),
        (
            "POST /referral/signups",
            201,
            lambda: http.post(f"{url}/referral/signups", json={"code": code}, headers=customer("new")),
        ),
        ("GET /referral/me", 200, lambda: http.get(f"{url}/referral/me", headers=alice)),
        ("GET /referral/report", 200, lambda: http.get(f"{url}/referral/report", headers=merchant)),
        (
            "POST /events/orders",
            202,
            lambda: http.post(f"{url}/events/orders", json=event(), headers=storefront),
        ),
    ]

    recorder = Recorder()
    replay = _replayer(ctx)
    ctx.require_quiet("the raw GetItem")
    table = ctx.table("events")
    key = {"pk": {"S": "bench#routes"}, "sk": {"S": "event"}}
    ctx.dynamodb.put_item(TableName=table, Item={**key, "digest": {"S": "x" * 64}})
    raw = ctx.timeit(lambda: ctx.dynamodb.get_item(TableName=table, Key=key), N * 2)
    rows: list[dict[str, Any]] = [
        {
            "benchmark": "routes: raw GetItem (for scale)",
            "metric": "p50 ms",
            "value": ctx.percentile(raw, 50) * 1000,
            "note": f"p99 {ctx.percentile(raw, 99) * 1000:.2f} ms; one storage call",
        }
    ]
    for name, status, call in routes:
        last: dict[str, Any] = {}

        def timed(
            call: Callable[[], Any] = call, status: int = status, name: str = name, last: dict = last
        ) -> None:
            response = call()
            if response.status_code != status:
                raise AssertionError(f"{name}: {response.status_code} {response.text[:200]}")
            last["units"] = response.headers.get("X-Request-Units", "")

        ctx.require_quiet(name)  # never record while another load (a soak, a bulk job) runs
        timed()
        timed()  # the steady state: a first call may create what later calls find
        with recorder.recording() as made:
            timed()
        made = list(made)
        ctx.require_quiet(name)
        samples, raw_samples = _side_by_side(timed, lambda made=made: replay(made), N)
        parts = dict(p.split("=", 1) for p in last["units"].split(";") if "=" in p)
        calls = int(parts.get("calls", "0"))
        p50, p99 = ctx.percentile(samples, 50), ctx.percentile(samples, 99)
        baseline = ctx.percentile(raw_samples, 50)
        operations = ", ".join(f"{svc}:{op}" for svc, op, _ in made) or "none"
        rows.append(
            {
                "read_units": float(parts.get("read", 0)),
                "write_units": float(parts.get("write", 0)),
                "benchmark": f"route: {name}",
                "metric": "p50 ms",
                "value": p50 * 1000,
                "baseline": baseline * 1000,
                "ratio": p50 / baseline if made else None,
                "note": f"p99 {p99 * 1000:.2f} ms; raw calls: {operations}; {calls} storage calls, "
                f"{float(parts.get('read', 0)):g} RRU + {float(parts.get('write', 0)):g} WRU per call",
            }
        )
    rows.append(_order_event_units(ctx, http, url, storefront, alice, shop))
    return rows


def _order_event_units(
    ctx: Any, http: Any, url: str, storefront: dict, alice: dict, shop: str
) -> dict[str, Any]:
    """Request units one order event costs end to end: the producer plus every consumer.

    Measured from the process-wide accounting (the stack runs in this process): the units of
    every DynamoDB call made between posting N events and the queues draining, divided by N.
    Each event is an ``order.paid`` of two lines through a distributor's link.
    """

    from campaign_shared import capacity

    bob = ctx.bearer("customer", shop, "bob")
    _ok(http.post(f"{url}/distribution/distributors", json={"invited_by": "alice"}, headers=bob), 201)
    link = _ok(http.post(f"{url}/distribution/links", json={}, headers=bob), 201)["code"]

    def drained() -> bool:
        queues = ctx.stack.status()["queues"]
        return all(q["depth"] == 0 for q in queues.values())

    deadline = time.monotonic() + 60
    while not drained() and time.monotonic() < deadline:
        time.sleep(0.2)
    events = 30
    before = (capacity.TOTAL.read, capacity.TOTAL.write, capacity.TOTAL.calls)
    for n in range(events):
        body = {
            "event_id": f"units-{uuid.uuid4().hex}",
            "type": "order.paid",
            "order_id": f"units-{n}-{uuid.uuid4().hex[:6]}",
            "customer_id": f"units-buyer-{n}",
            "occurred_at": "2026-11-11T00:00:05Z",
            "distributor_code": link,
            "lines": [
                {
                    "line_id": "l-1",
                    "product_id": "p-1",
                    "quantity": 1,
                    "unit_amount": 5000,
                    "paid_amount": 5000,
                },
                {
                    "line_id": "l-2",
                    "product_id": "p-2",
                    "quantity": 2,
                    "unit_amount": 1000,
                    "paid_amount": 2000,
                },
            ],
        }
        _ok(http.post(f"{url}/events/orders", json=body, headers=storefront), 202)
    time.sleep(1)
    deadline = time.monotonic() + 120
    while not drained() and time.monotonic() < deadline:
        time.sleep(0.2)
    read = (capacity.TOTAL.read - before[0]) / events
    write = (capacity.TOTAL.write - before[1]) / events
    calls = (capacity.TOTAL.calls - before[2]) / events
    return {
        "benchmark": "order event end to end (producer + 4 consumers)",
        "metric": "request units",
        "value": read + write,
        "read_units": read,
        "write_units": write,
        "note": f"{read:g} RRU + {write:g} WRU, {calls:g} DynamoDB calls per order.paid of 2 lines with a "
        f"distributor link (tier 1 and its inviter's tier 2), mean of {events}; queues drained: {drained()}",
    }
