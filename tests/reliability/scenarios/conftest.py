"""Shared pieces of the reliability scenarios (issue 8 suites 1, 2 and 5).

- ``Scenario``: one compact full product scenario for one shop (a flash-grab on one coupon
  template, paid and partially refunded orders through a two-tier distributor link, a coupon
  locked and redeemed by an order, a wishlist reservation fulfilled by an order, a referral
  signup converted by a first order) and ``snapshot()``, its final state with every random id
  normalised away, so two runs (clean / faulty / chaotic) can be compared with ``==``.
- ``HttpCaller``: a client over real HTTP that retries 503 (which must carry ``Retry-After``)
  and dropped connections with the same ``Idempotency-Key``, and counts every status it saw.
- ``GatewayCaller``: the same interface over the in-process gateway (``gateway`` fixture).
- ``local_stack``: a factory starting an in-process LocalStack (optionally with faults) that is
  stopped, and the process-wide settings reset, at the end of the test.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

SECRET = "test-secret-0123456789"  # the same secret as tests/conftest.py
SOAK = os.environ.get("CAMPAIGN_SOAK") == "1"


def mint(role: str, shop: str, sub: str) -> str:
    from campaign_shared.auth import mint as _mint

    return _mint(role=role, shop=shop, sub=sub, secret=SECRET, ttl_seconds=3600)


class HttpCaller:
    """``call(method, path, body, role, sub)`` -> (status, json) over HTTP, with client retries."""

    def __init__(self, url: str, shop: str, patience: float = 60.0) -> None:
        import requests

        self.url, self.shop, self.patience = url, shop, patience
        self.statuses: Counter[int] = Counter()
        self.retried: Counter[str] = Counter()
        self.bad: list[str] = []  # any response that is neither 2xx, an expected 4xx, nor a proper 503
        self._local = threading.local()
        self._requests = requests
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._requests.Session()
        return session

    def _token(self, role: str, sub: str) -> str:
        key = (role, sub)
        with self._lock:
            if key not in self._tokens:
                self._tokens[key] = mint(role, self.shop, sub)
            return self._tokens[key]

    def call(
        self, method: str, path: str, body: Any = None, role: str = "customer", sub: str = "u"
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._token(role, sub)}", "Content-Type": "application/json"}
        if method == "POST":
            headers["Idempotency-Key"] = f"k-{uuid.uuid4().hex}"  # the same key on every retry
        data = json.dumps(body).encode() if body is not None else None
        last: Any = None
        history: list[Any] = []
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            try:
                response = self._session().request(
                    method, self.url + path, data=data, headers=headers, timeout=30
                )
            except self._requests.ConnectionError as exc:
                self.retried["connection"] += 1
                history.append(type(exc).__name__)
                self._local.session = None
                time.sleep(0.05)
                continue
            status = response.status_code
            with self._lock:
                self.statuses[status] += 1
            payload = response.json() if response.content else None
            code = (payload or {}).get("error", {}).get("code") if isinstance(payload, dict) else None
            last = (status, payload, dict(response.headers))
            history.append((status, code))
            if status == 503 or (status == 409 and code == "request_in_progress"):
                if "Retry-After" not in response.headers:
                    self.bad.append(f"{method} {path}: {status} without Retry-After")
                with self._lock:
                    if status == 503:
                        self.retried["503"] += 1
                    else:
                        self.retried["request_in_progress"] += 1
                        if history.count((409, "request_in_progress")) == 1:
                            self.retried["keys_held_in_progress"] += 1
                if status == 503:
                    time.sleep(0.05)  # Retry-After is whole seconds; a 503 is retried sooner here
                else:
                    # A dropped connection on the idempotency layer's in-progress write leaves
                    # the key "in progress" until that record expires (the function timeout)
                    # although nothing runs; after 3 such answers this client uses a new key
                    time.sleep(min(float(response.headers["Retry-After"]), 1.0))
                    if history[-3:] == [(409, "request_in_progress")] * 3:
                        with self._lock:
                            self.retried["keys_abandoned"] += 1
                        headers["Idempotency-Key"] = f"k-{uuid.uuid4().hex}"
                        history.append("new-key")
                continue
            if status >= 500:
                # never allowed; recorded (the test fails on it) and retried like a client
                # would, so the run reaches its end and the report can say what happened
                with self._lock:
                    self.bad.append(f"{method} {path}: {status} {response.text[:300]}")
                    self.retried["5xx"] += 1
                time.sleep(0.05)
                continue
            return status, payload
        raise AssertionError(f"{method} {path}: still failing after {self.patience}s: {history[:5]} {last}")


class CarefulCaller(HttpCaller):
    """A client that behaves well: an ``Idempotency-Key`` on every POST, kept across its
    retries (never abandoned); 502, 503, 504, dropped connections and 409
    ``request_in_progress`` retried with exponential backoff, never sooner than
    ``Retry-After``; at most ``budget`` attempts per request. ``exhausted`` lists requests that
    ran out of attempts, ``in_progress`` counts the answers that said the key was busy."""

    RETRYABLE = (502, 503, 504)

    def __init__(self, url: str, shop: str, budget: int = 12) -> None:
        super().__init__(url, shop)
        self.budget = budget
        self.exhausted: list[str] = []
        self.in_progress = 0
        self.attempts: Counter[int] = Counter()  # attempts a request needed -> requests

    def call(
        self, method: str, path: str, body: Any = None, role: str = "customer", sub: str = "u"
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._token(role, sub)}", "Content-Type": "application/json"}
        if method == "POST":
            headers["Idempotency-Key"] = f"k-{uuid.uuid4().hex}"
        data = json.dumps(body).encode() if body is not None else None
        history: list[Any] = []
        for attempt in range(1, self.budget + 1):
            backoff = min(2.0, 0.05 * 2 ** (attempt - 1))
            try:
                response = self._session().request(
                    method, self.url + path, data=data, headers=headers, timeout=30
                )
            except self._requests.ConnectionError as exc:
                history.append(type(exc).__name__)
                self._local.session = None
                time.sleep(backoff)
                continue
            status = response.status_code
            payload = response.json() if response.content else None
            code = (payload or {}).get("error", {}).get("code") if isinstance(payload, dict) else None
            history.append((status, code))
            with self._lock:
                self.statuses[status] += 1
            busy = status == 409 and code == "request_in_progress"
            if status in self.RETRYABLE or busy:
                with self._lock:
                    self.in_progress += busy
                if "Retry-After" not in response.headers:
                    self.bad.append(f"{method} {path}: {status} without Retry-After")
                    time.sleep(backoff)
                else:
                    time.sleep(max(backoff, float(response.headers["Retry-After"])))
                continue
            if status >= 500:
                with self._lock:
                    self.bad.append(f"{method} {path}: {status} {response.text[:300]}")
                time.sleep(backoff)
                continue
            with self._lock:
                self.attempts[attempt] += 1
            return status, payload
        with self._lock:
            self.exhausted.append(f"{method} {path}: {history}")
        raise AssertionError(f"{method} {path}: no answer within {self.budget} attempts: {history}")


class GatewayCaller:
    """The same interface over the in-process gateway (``gateway`` fixture of tests/conftest)."""

    def __init__(self, gateway: Any, shop: str) -> None:
        self.gateway, self.shop = gateway, shop
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []

    def call(
        self, method: str, path: str, body: Any = None, role: str = "customer", sub: str = "u"
    ) -> tuple[int, Any]:
        headers = {
            "authorization": f"Bearer {mint(role, self.shop, sub)}",
            "content-type": "application/json",
        }
        response = self.gateway.request(method, path, json_body=body, headers=headers)
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.bad.append(f"{method} {path}: {response!r}")
        return response.status_code, (response.json() if response.content else None)


def ok(result: tuple[int, Any], *expected: int) -> Any:
    status, body = result
    assert status in (expected or (200,)), (status, body)
    return body


# Audience fields that depend on when a run placed its orders (each run is at its own "now").
TIMES = ("first_order_at", "last_order_at", "mean_days_between_orders")


class Scenario:
    def __init__(self, caller: Any, *, claimers: int = 40, stock: int = 20, workers: int = 8) -> None:
        self.c = caller
        self.claimers, self.stock, self.workers = claimers, stock, workers
        self.claims: Counter[str] = Counter()
        self.names: dict[str, str] = {}  # template_id -> name

    # -- setup: everything a client does before the order events ---------------------------
    def _template(self, name: str, stock: int, per_customer: int) -> str:
        body = {
            "name": name,
            "kind": "amount_off",
            "amount_off": 500,
            "min_spend_amount": 0,
            "total_stock": stock,
            "per_customer_limit": per_customer,
            "valid_days": 30,
        }
        tid = ok(self.c.call("POST", "/coupons/templates", body, "merchant", "m"), 201)["template_id"]
        self.names[tid] = name
        return tid

    def _claim(self, index: int) -> tuple[str, str | None]:
        sub = f"grab-{index}"
        status, body = self.c.call("POST", f"/coupons/templates/{self.grab}/claim", None, "customer", sub)
        if status == 201:
            return sub, body["coupon_id"]
        if status == 409 and body["error"]["code"] == "per_customer_limit_reached":
            # The claim did succeed but its answer was lost (the client retried under a new
            # key after a stuck in-progress key): the customer holds the coupon.
            mine = ok(self.c.call("GET", "/coupons/me", None, "customer", sub))["items"]
            held = [c["coupon_id"] for c in mine if c["template_id"] == self.grab]
            assert len(held) == 1, (sub, mine)
            return sub, held[0]
        assert status == 409 and body["error"]["code"] == "sold_out", (status, body)
        return sub, None

    def setup(self) -> None:
        c = self.c
        # coupons: a flash grab
        self.grab = self._template("grab", self.stock, 1)
        if self.workers > 1:
            with ThreadPoolExecutor(self.workers) as pool:
                results = list(pool.map(self._claim, range(self.claimers)))
        else:
            results = [self._claim(i) for i in range(self.claimers)]
        self.claims = Counter("claimed" if cid else "sold_out" for _, cid in results)
        self.winner, self.winner_coupon = sorted((s, cid) for s, cid in results if cid)[0]
        locked = ok(
            c.call(
                "POST", f"/coupons/{self.winner_coupon}/lock", {"order_id": "o-1"}, "customer", self.winner
            )
        )
        assert locked["status"] == "locked"
        # distribution: a parent and a child distributor, a link of the child
        rules = {
            "default_rate_bps": 1000,
            "parent_rate_bps": 500,
            "settle_after_days": 0,
            "auto_approve": True,
        }
        ok(c.call("PUT", "/distribution/rules", rules, "merchant", "m"))
        ok(c.call("POST", "/distribution/distributors", {}, "customer", "dist-p"), 201)
        ok(c.call("POST", "/distribution/distributors", {"invited_by": "dist-p"}, "customer", "dist-c"), 201)
        self.code = ok(
            c.call("POST", "/distribution/links", {"product_id": "p-1"}, "customer", "dist-c"), 201
        )["code"]
        # wishlist: a list with an item of 3, a friend reserves 2
        self.list_id = ok(
            c.call(
                "POST",
                "/wishlist/lists",
                {"title": "Flat", "occasion": "move", "surprise": False},
                "customer",
                "owner",
            ),
            201,
        )["list_id"]
        item = {"product_id": "p-w", "name": "Lamp", "unit_amount": 19900, "quantity": 3}
        self.item_id = ok(
            c.call("POST", f"/wishlist/lists/{self.list_id}/items", item, "customer", "owner"), 201
        )["item_id"]
        token = ok(c.call("POST", f"/wishlist/lists/{self.list_id}/share", None, "customer", "owner"), 201)[
            "share_token"
        ]
        self.reservation = ok(
            c.call(
                "POST",
                f"/wishlist/shared/{token}/items/{self.item_id}/reservations",
                {"quantity": 2},
                "customer",
                "friend",
            ),
            201,
        )["reservation_id"]
        # referral: a program with two reward templates, alice refers bob
        self.ref_t = self._template("referrer-reward", 100, 100)
        self.ree_t = self._template("referee-reward", 100, 100)
        program = {
            "referrer_template_id": self.ref_t,
            "referee_template_id": self.ree_t,
            "min_order_amount": 5000,
        }
        ok(c.call("PUT", "/referral/program", program, "merchant", "m"))
        code = ok(c.call("POST", "/referral/codes", None, "customer", "alice"), 201)["code"]
        ok(c.call("POST", "/referral/signups", {"code": code}, "customer", "bob"), 201)

    # -- the order events, in their natural order -----------------------------------------
    def events(self) -> list[dict[str, Any]]:
        def line(line_id, product, qty, unit, paid, **extra):
            return {
                "line_id": line_id,
                "product_id": product,
                "quantity": qty,
                "unit_amount": unit,
                "paid_amount": paid,
                **extra,
            }

        # Orders are placed now, after setup's signup: an order placed before a signup voids it.
        from datetime import timedelta

        from campaign_shared import clock

        placed = clock.now()

        def event(n, kind, order, customer, **extra):
            return {
                "event_id": f"e-{n}-{uuid.uuid4().hex[:8]}",
                "type": kind,
                "order_id": order,
                "customer_id": customer,
                "occurred_at": clock.iso(placed + timedelta(seconds=n)),
                "currency": "CNY",
                **extra,
            }

        wish = {"list_id": self.list_id, "item_id": self.item_id, "reservation_id": self.reservation}
        return [
            event(
                1,
                "order.paid",
                "o-1",
                self.winner,
                coupon_id=self.winner_coupon,
                distributor_code=self.code,
                lines=[line("l-1", "p-1", 2, 5000, 9000), line("l-2", "p-2", 1, 1005, 1005)],
            ),
            event(
                2,
                "order.paid",
                "o-2",
                "buyer-2",
                distributor_code=self.code,
                lines=[line("l-1", "p-1", 1, 3000, 3000)],
            ),
            event(
                3,
                "order.refunded",
                "o-1",
                self.winner,
                refund={"refund_id": "r-1", "lines": [{"line_id": "l-1", "amount": 3000}]},
            ),
            event(
                4,
                "order.paid",
                "o-3",
                "friend",
                lines=[line("l-1", "p-w", 2, 19900, 39800, wishlist_item=wish)],
            ),
            event(5, "order.paid", "o-4", "bob", lines=[line("l-1", "p-9", 1, 6000, 6000)]),
            event(
                6,
                "order.refunded",
                "o-2",
                "buyer-2",
                refund={"refund_id": "r-2", "lines": [{"line_id": "l-1", "amount": 1000}]},
            ),
        ]

    def post_events(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            ok(self.c.call("POST", "/events/orders", e, "storefront", "store"), 202)
        self.customers = sorted({e["customer_id"] for e in events})

    def _audience(self) -> dict[str, Any]:
        """Every buyer's audience profile and the repurchase report's rows around today."""
        from datetime import UTC, datetime, timedelta

        profiles = {}
        for customer in getattr(self, "customers", []):
            status, body = self.c.call("GET", f"/audience/customers/{customer}", None, "merchant", "m")
            assert status in (200, 404), (status, body)
            profiles[customer] = (
                {k: v for k, v in body.items() if k not in ("first_touch", "last_touch", *TIMES)}
                | {
                    "first_channel": (body["first_touch"] or {}).get("channel"),
                    "last_channel": (body["last_touch"] or {}).get("channel"),
                    # the template's name: each run makes its own templates (ids differ)
                    "first_coupon_template_id": self.names.get(
                        body.get("first_coupon_template_id"), body.get("first_coupon_template_id")
                    ),
                }
                if status == 200
                else None
            )
        today = datetime.now(UTC).date()
        period = f"from={today - timedelta(days=365)}&to={today + timedelta(days=365)}"
        report = ok(self.c.call("GET", f"/audience/reports/repurchase?{period}", None, "merchant", "m"))
        rows = [{k: v for k, v in r.items() if k not in TIMES} for r in [*report["items"], report["total"]]]
        return {"profiles": profiles, "report": rows}

    # -- the final state, with ids normalised ---------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        c = self.c
        grab = ok(c.call("GET", f"/coupons/templates/{self.grab}", None, "merchant", "m"))
        holders = 0
        statuses: Counter[str] = Counter()
        for i in range(self.claimers):
            items = ok(c.call("GET", "/coupons/me", None, "customer", f"grab-{i}"))["items"]
            holders += len(items)
            statuses.update(it["status"] for it in items)
        distribution = {}
        for sub in ("dist-c", "dist-p"):
            balance = ok(c.call("GET", "/distribution/me/balance", None, "customer", sub))
            rows = ok(c.call("GET", "/distribution/me/commissions", None, "customer", sub))["items"]
            report = ok(
                c.call("GET", f"/distribution/distributors/{sub}/reconciliation", None, "merchant", "m")
            )
            distribution[sub] = {
                "balance": {k: v for k, v in balance.items() if k.endswith("_amount")},
                "commissions": sorted(
                    (
                        r["order_id"],
                        r["line_id"],
                        r["tier"],
                        r["amount"],
                        r.get("reversed_amount"),
                        r["status"],
                    )
                    for r in rows
                ),
                "consistent": report["consistent"],
                "journal_groups": report["journal_groups"],
            }
        items = ok(c.call("GET", f"/wishlist/lists/{self.list_id}", None, "customer", "owner"))["items"]
        (item,) = items
        referral = {}
        for sub in ("alice", "bob"):
            me = ok(c.call("GET", "/referral/me", None, "customer", sub))
            coupons = ok(c.call("GET", "/coupons/me", None, "customer", sub))["items"]
            referral[sub] = {
                "rewards": sorted(
                    (r["side"], self.names[r["template_id"]], r["status"]) for r in me["rewards"]
                ),
                "referred": me["referred_count"],
                "converted": me["converted_count"],
                "coupons": sorted(self.names[x["template_id"]] for x in coupons),
            }
        return {
            "claims": dict(self.claims),
            "grab": {k: grab[k] for k in ("issued_count", "remaining_stock", "redeemed_count")},
            "grab_holders": holders,
            "grab_statuses": dict(statuses),
            "distribution": distribution,
            "wishlist": {k: item[k] for k in ("reserved_quantity", "fulfilled_quantity", "open_quantity")},
            "referral": referral,
            "audience": self._audience(),
        }


def expected_snapshot(claimers: int, stock: int) -> dict[str, Any]:
    """What the scenario must end in, worked out by hand (so a clean run is checked too)."""
    return {
        "claims": {"claimed": stock, "sold_out": claimers - stock},
        "grab": {"issued_count": stock, "remaining_stock": 0, "redeemed_count": 1},
        "grab_holders": stock,
        "grab_statuses": {"available": stock - 1, "redeemed": 1},
    }


def redrive_dlqs(sqs: Any, queues: dict[str, dict[str, Any]]) -> int:
    """Move every dead-lettered message back to its source queue (``campaign dlq --redrive``)."""
    moved = 0
    for queue in queues.values():
        if not queue.get("dlq_url"):
            continue
        while True:
            got = sqs.receive_message(
                QueueUrl=queue["dlq_url"],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not got:
                break
            for m in got:
                attrs = {
                    k: {kk: vv for kk, vv in v.items() if kk in ("StringValue", "BinaryValue", "DataType")}
                    for k, v in (m.get("MessageAttributes") or {}).items()
                }
                sqs.send_message(QueueUrl=queue["url"], MessageBody=m["Body"], MessageAttributes=attrs)
                sqs.delete_message(QueueUrl=queue["dlq_url"], ReceiptHandle=m["ReceiptHandle"])
                moved += 1
    return moved


def wait_quiet(stack: Any, timeout: float = 60.0) -> dict[str, Any]:
    """Until every service queue and DLQ stays empty and no consumer takes anything new."""
    deadline = time.monotonic() + timeout
    last, calm = None, 0
    while time.monotonic() < deadline:
        try:
            status = stack.status()["queues"]
        except Exception:  # an injected fault on the status call itself
            time.sleep(0.1)
            continue
        key = {n: (q["depth"], q["dlq_depth"], q["messages"]) for n, q in status.items()}
        empty = all(d == 0 for d, _, _ in key.values())
        calm = calm + 1 if (empty and key == last) else 0
        if calm >= 3:
            return status
        last = key
        time.sleep(0.2)
    raise AssertionError(f"queues did not settle: {last}")


@pytest.fixture
def local_stack() -> Iterator[Callable[..., Any]]:
    """``local_stack(faults=None)`` starts an in-process LocalStack on free ports."""
    from campaign_shared import idempotency, messaging
    from campaign_shared.settings import configure
    from infrastructure.local.stack import LocalStack

    started: list[Any] = []

    def start(faults: Any = None) -> Any:
        os.environ["CAMPAIGN_JWT_SECRET"] = SECRET
        idempotency.reset()
        messaging.reset()
        stack = LocalStack(
            port=0, data_dir=None, jwt_secret=SECRET, stage="rel", retry_after_seconds=0, faults=faults
        ).start()
        started.append(stack)
        # A message whose acknowledgement or retry was lost to a fault comes back after the
        # visibility timeout (180 s in the definition): 2 s here keeps the test short.
        sqs = stack.client("sqs")
        for queue in stack.resources["queues"].values():
            sqs.set_queue_attributes(QueueUrl=queue["url"], Attributes={"VisibilityTimeout": "2"})
        return stack

    saved = os.environ.get("CAMPAIGN_JWT_SECRET")
    yield start
    for stack in started:
        stack.stop()
    configure(None)
    idempotency.reset()
    messaging.reset()
    if saved is None:
        os.environ.pop("CAMPAIGN_JWT_SECRET", None)
    else:
        os.environ["CAMPAIGN_JWT_SECRET"] = saved


@pytest.fixture
def rel() -> Any:
    """The helpers above (test modules cannot import conftest under --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        SOAK=SOAK,
        HttpCaller=HttpCaller,
        CarefulCaller=CarefulCaller,
        GatewayCaller=GatewayCaller,
        Scenario=Scenario,
        expected_snapshot=expected_snapshot,
        redrive_dlqs=redrive_dlqs,
        wait_quiet=wait_quiet,
        mint=mint,
        ok=ok,
    )
