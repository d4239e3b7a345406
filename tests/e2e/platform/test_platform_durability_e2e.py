"""A crash loses nothing: the local stack (``campaign local``) under load (claims,
withdrawals, order events, a bulk issue job, new templates and wishlists) is killed with
SIGKILL on its whole process group and started again on the same data folder. Every answer
it had given (2xx, 202) still holds, every accepted order event takes effect, no withdrawal is
paid twice and no job is stuck. A clean stop keeps the messages still queued."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import requests

from campaign_shared.resources import queue_name

SETTLED = 20_000  # the withdrawing distributor's available balance before the load
STOCK = 25
BULK = 200  # customers of the bulk issue job, still running when the stack is killed


class Api:
    """Calls for one shop; ``post``/``get`` -> (status, body), raising on a lost connection."""

    def __init__(self, url: str, shop: str, bearer: Callable[..., dict[str, str]]) -> None:
        self.url, self.shop, self.bearer = url, shop, bearer
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if getattr(self._local, "session", None) is None:
            self._local.session = requests.Session()
        return self._local.session

    def call(self, method: str, path: str, role: str, sub: str, body: Any = None, key: str | None = None):
        headers = self.bearer(role, self.shop, sub)
        if key:
            headers["Idempotency-Key"] = key
        response = self._session().request(method, self.url + path, json=body, headers=headers, timeout=20)
        return response.status_code, (response.json() if response.content else None)

    def post(self, path: str, body: Any, role: str, sub: str, key: str | None = None):
        return self.call("POST", path, role, sub, body, key)

    def get(self, path: str, role: str, sub: str):
        return self.call("GET", path, role, sub)


def _order(order_id: str, customer: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"e-{order_id}",
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": customer,
        "occurred_at": "2026-11-11T00:00:05Z",
        "currency": "CNY",
        "lines": [
            {
                "line_id": "l-1",
                "product_id": "p-1",
                "quantity": 1,
                "unit_amount": amount,
                "paid_amount": amount,
            }
        ],
        **extra,
    }


def _template(api: Api, name: str, stock: int) -> str:
    body = {"name": name, "kind": "amount_off", "amount_off": 100, "total_stock": stock, "valid_days": 30}
    status, out = api.post("/coupons/templates", body, "merchant", "m")
    assert status == 201, out
    return out["template_id"]


def _setup(api: Api, wait_until: Callable[..., Any]) -> dict[str, Any]:
    rules = {"default_rate_bps": 1000, "parent_rate_bps": 0, "settle_after_days": 0, "auto_approve": True}
    assert api.call("PUT", "/distribution/rules", "merchant", "m", rules)[0] == 200
    codes = {}
    for sub in ("payee", "earner"):
        assert api.post("/distribution/distributors", {}, "customer", sub)[0] == 201
        status, link = api.post("/distribution/links", {"product_id": "p-1"}, "customer", sub)
        assert status == 201, link
        codes[sub] = link["code"]
    # the payee earns 10% of 200,000 and has it settled: 20,000 to withdraw during the load
    assert (
        api.post(
            "/events/orders",
            _order("seed", "buyer", 200_000, distributor_code=codes["payee"]),
            "storefront",
            "sf",
        )[0]
        == 202
    )
    wait_until(
        lambda: api.get("/distribution/me/balance", "customer", "payee")[1]["pending_amount"] == SETTLED,
        timeout=30,
    )
    status, settled = api.post("/distribution/settlements", {}, "merchant", "m")
    assert status == 200 and settled["settled_amount"] == SETTLED, settled
    return {"codes": codes, "grab": _template(api, "grab", STOCK), "bulk": _template(api, "bulk", 1000)}


class Load:
    """Client threads that keep calling until the stack dies; only answered calls count."""

    def __init__(self, api: Api, setup: dict[str, Any]) -> None:
        self.api, self.setup = api, setup
        self.coupons: dict[str, str] = {}  # coupon_id -> customer
        self.withdrawals: list[tuple[str, int, str]] = []  # (idempotency key, amount, withdrawal_id)
        self.events: list[dict[str, Any]] = []  # accepted order events
        self.redeeming: dict[str, str] = {}  # coupon_id -> order_id whose accepted event redeems it
        self.templates: list[str] = []
        self.wishlists: list[tuple[str, str]] = []  # (owner, list_id)
        self.jobs: list[str] = []
        self.dead = threading.Event()
        self._lock = threading.Lock()

    def _loop(self, step: Callable[[int], None]) -> None:
        i = 0
        while not self.dead.is_set():
            try:
                step(i)
            except requests.RequestException:
                return  # the stack is gone
            i += 1

    def claims(self, i: int) -> None:
        customer = f"claimer-{threading.get_ident()}-{i}"
        status, body = self.api.post(
            f"/coupons/templates/{self.setup['grab']}/claim", None, "customer", customer
        )
        if status == 201:
            with self._lock:
                self.coupons[body["coupon_id"]] = customer
        elif status == 409 and body["error"]["code"] == "sold_out":
            time.sleep(0.05)

    def withdrawals_(self, i: int) -> None:
        key, amount = f"w-{uuid.uuid4().hex}", 100
        status, body = self.api.post(
            "/distribution/me/withdrawals", {"amount": amount}, "customer", "payee", key
        )
        if status == 201:
            with self._lock:
                self.withdrawals.append((key, amount, body["withdrawal_id"]))

    def orders(self, i: int) -> None:
        order_id = f"o-{uuid.uuid4().hex[:10]}"
        extra: dict[str, Any] = {"distributor_code": self.setup["codes"]["earner"]}
        buyer = f"buyer-{i}"
        with self._lock:
            mine = [c for c in self.coupons if c not in self.redeeming]
        if mine and i % 2 == 0:  # the holder locks a coupon to the order; the paid event redeems it
            coupon, buyer = mine[0], self.coupons[mine[0]]
            status, _ = self.api.post(f"/coupons/{coupon}/lock", {"order_id": order_id}, "customer", buyer)
            if status == 200:
                extra["coupon_id"] = coupon
        event = _order(order_id, buyer, 1000, **extra)
        if self.api.post("/events/orders", event, "storefront", "sf")[0] == 202:
            with self._lock:
                self.events.append(event)
                if "coupon_id" in extra:
                    self.redeeming[extra["coupon_id"]] = order_id

    def creations(self, i: int) -> None:
        if i == 1:
            customers = [f"bulk-{n}" for n in range(BULK)]
            status, body = self.api.post(
                f"/coupons/templates/{self.setup['bulk']}/issue-jobs",
                {"customer_ids": customers},
                "merchant",
                "m",
            )
            if status == 202:
                self.jobs.append(body["job_id"])
            return
        body = {"name": f"t-{i}", "kind": "amount_off", "amount_off": 100, "total_stock": 10, "valid_days": 5}
        status, out = self.api.post("/coupons/templates", body, "merchant", "m")
        if status == 201:
            self.templates.append(out["template_id"])
        owner = f"owner-{i}"
        status, out = self.api.post("/wishlist/lists", {"title": f"list {i}"}, "customer", owner)
        if status == 201:
            self.wishlists.append((owner, out["list_id"]))

    def start(self) -> list[threading.Thread]:
        steps = [self.claims] * 3 + [self.withdrawals_] * 2 + [self.orders] * 2 + [self.creations]
        threads = [threading.Thread(target=self._loop, args=(s,), daemon=True) for s in steps]
        for thread in threads:
            thread.start()
        return threads


def _balance(api: Api, sub: str) -> dict[str, Any]:
    status, body = api.get("/distribution/me/balance", "customer", sub)
    assert status == 200, body
    return body


def test_sigkill_under_load_loses_no_acknowledged_effect(tmp_path, bearer, wait_until, launch_stack):
    data = tmp_path / "data"
    process, url = launch_stack(data, tmp_path / "first.log", own_group=True)
    api = Api(url, f"shop-{uuid.uuid4().hex[:8]}", bearer)
    setup = _setup(api, wait_until)
    load = Load(api, setup)
    threads = load.start()
    # Kill once every kind of call has been answered at least once (the load keeps going).
    started = time.monotonic()
    wait_until(
        lambda: (
            load.coupons
            and load.withdrawals
            and load.events
            and load.jobs
            and load.wishlists
            and time.monotonic() - started > 2
        ),
        timeout=30,
    )
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    load.dead.set()
    for thread in threads:
        thread.join(timeout=30)

    process, url = launch_stack(data, tmp_path / "second.log", own_group=True)
    api = Api(url, api.shop, bearer)

    # Every answered write is there.
    for template_id in [*load.templates, setup["grab"], setup["bulk"]]:
        assert api.get(f"/coupons/templates/{template_id}", "merchant", "m")[0] == 200, template_id
    for owner, list_id in load.wishlists:
        assert api.get(f"/wishlist/lists/{list_id}", "customer", owner)[0] == 200, list_id
    held = set()
    for coupon_id, customer in load.coupons.items():
        status, mine = api.get("/coupons/me", "customer", customer)
        assert status == 200 and coupon_id in {c["coupon_id"] for c in mine["items"]}, (coupon_id, mine)
        held.add(coupon_id)
    grab = api.get(f"/coupons/templates/{setup['grab']}", "merchant", "m")[1]
    assert (
        len(held) <= grab["issued_count"] <= STOCK and grab["remaining_stock"] == STOCK - grab["issued_count"]
    )

    # No withdrawal is paid twice: the balance adds up, a replayed key pays nothing again,
    # and withdrawing more than what is left is refused.
    balance = _balance(api, "payee")
    # a request reserves its amount until the merchant pays it (withdrawals as a workflow)
    requested = balance["withdrawn_amount"] + balance["reserved_amount"]
    assert requested >= sum(amount for _, amount, _ in load.withdrawals)
    assert balance["available_amount"] + requested == SETTLED, balance
    for key, amount, withdrawal_id in load.withdrawals:
        status, again = api.post("/distribution/me/withdrawals", {"amount": amount}, "customer", "payee", key)
        assert status == 201 and again["withdrawal_id"] == withdrawal_id, again
    assert _balance(api, "payee") == balance
    status, refused = api.post(
        "/distribution/me/withdrawals",
        {"amount": balance["available_amount"] + 1},
        "customer",
        "payee",
        f"w-{uuid.uuid4().hex}",
    )
    assert status == 409 and refused["error"]["code"] == "insufficient_balance", refused

    # Every accepted order event takes effect within seconds, and only once.
    expected_orders = {e["order_id"] for e in load.events}

    def commissions() -> set[str]:
        found: set[str] = set()
        cursor = None
        while True:
            path = "/distribution/me/commissions?limit=200" + (f"&cursor={cursor}" if cursor else "")
            page = api.get(path, "customer", "earner")[1]
            found |= {row["order_id"] for row in page["items"]}
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    # Within seconds, unless a delivery killed mid-way holds its group claims: its order's
    # entries (and so its commissions) are then written by the retry once the claims run out
    # (distribution's CLAIM_SECONDS, 120 s). Never lost either way.
    wait_until(lambda: expected_orders <= commissions(), timeout=200, interval=0.5)

    def queues() -> dict[str, Any]:
        return requests.get(f"{url}/_local/status", timeout=5).json()["queues"]

    # The earner's balance has every commission, unless a delivery killed mid-way still holds
    # its group claim (distribution's CLAIM_SECONDS): then the accrual is still queued, to be
    # retried once the claim runs out, never dead-lettered.
    wait_until(
        lambda: (
            _balance(api, "earner")["pending_amount"] == 100 * len(commissions())
            or queues()["distribution"]["depth"] > 0
        ),
        timeout=60,
        interval=0.5,
    )

    def redeemed() -> bool:
        for coupon_id, order_id in load.redeeming.items():
            mine = api.get("/coupons/me", "customer", load.coupons[coupon_id])[1]["items"]
            coupon = next(c for c in mine if c["coupon_id"] == coupon_id)
            if (coupon["status"], coupon.get("order_id")) != ("redeemed", order_id):
                return False
        return True

    wait_until(redeemed, timeout=60, interval=0.5)

    # No job is stuck: the bulk issue job accepted before the kill finishes.
    for job_id in load.jobs:
        job = wait_until(
            lambda job_id=job_id: (
                (j := api.get(f"/coupons/issue-jobs/{job_id}", "merchant", "m")[1])["status"] == "done" and j
            ),
            timeout=60,
            interval=0.5,
        )
        assert job["issued"] + job["skipped"] + job["failed"] == job["total"] == BULK, job
    assert all(q["dlq_depth"] == 0 for q in queues().values()), queues()
    launch_stack.stop(process)


def test_a_clean_stop_keeps_the_messages_still_queued(tmp_path, bearer, wait_until, launch_stack):
    data = tmp_path / "data"
    process, url = launch_stack(data, tmp_path / "first.log")
    status = requests.get(f"{url}/_local/status", timeout=5).json()
    sqs = boto3.client(
        "sqs",
        endpoint_url=status["aws_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    # Dead letters wait for an operator: nothing consumes them, so they are queued at the stop.
    dlq = sqs.get_queue_url(QueueName=queue_name(status["stage"], "coupons", dead_letter=True))["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f'{{"dead": {i}}}')
    # And a burst of order events, stopped while the consumers are still at it.
    api = Api(url, f"shop-{uuid.uuid4().hex[:8]}", bearer)
    assert (
        api.call(
            "PUT",
            "/distribution/rules",
            "merchant",
            "m",
            {"default_rate_bps": 1000, "settle_after_days": 0, "auto_approve": True},
        )[0]
        == 200
    )
    assert api.post("/distribution/distributors", {}, "customer", "d")[0] == 201
    code = api.post("/distribution/links", {"product_id": "p-1"}, "customer", "d")[1]["code"]
    orders = [f"o-{n}" for n in range(30)]
    for order_id in orders:
        assert (
            api.post(
                "/events/orders", _order(order_id, "buyer", 1000, distributor_code=code), "storefront", "sf"
            )[0]
            == 202
        )
    launch_stack.stop(process)
    printed = (tmp_path / "first.log").read_text()
    assert "stopped; saved" in printed, printed

    process, url = launch_stack(data, tmp_path / "second.log")
    assert "queued messages: 0" not in (tmp_path / "second.log").read_text()
    api = Api(url, api.shop, bearer)
    status = requests.get(f"{url}/_local/status", timeout=5).json()
    assert status["queues"]["coupons"]["dlq_depth"] == 3
    wait_until(lambda: _balance(api, "d")["pending_amount"] == 100 * len(orders), timeout=60, interval=0.5)
