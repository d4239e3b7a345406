"""Campaign operations over real HTTP while customers grab: stock added during a grab is
issued exactly, and a pause holds from the moment it is answered."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.e2e

CLIENTS = 32


def shop() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"  # a fresh tenant per test: the stack is shared


def create(stack_url, http, bearer, shop_id, **fields):
    body = {"name": "grab", "kind": "amount_off", "amount_off": 500, **fields}
    answer = http.post(f"{stack_url}/coupons/templates", json=body, headers=bearer("merchant", shop=shop_id))
    assert answer.status_code == 201, answer.text
    return answer.json()["template_id"]


def grab(stack_url, bearer, shop_id, tid, keep_going):
    """``CLIENTS`` clients claim with fresh customers while ``keep_going(status, code, sent)``
    says so; every answer as (status, code, time its request was sent)."""
    import time

    url = f"{stack_url}/coupons/templates/{tid}/claim"
    answers: list[tuple[int, str | None, float]] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        session = requests.Session()
        n = 0
        while True:
            n += 1
            sub = f"w{worker}-{n}"
            sent = time.monotonic()
            response = session.post(url, headers=bearer("customer", shop=shop_id, sub=sub), timeout=60)
            code = None if response.status_code == 201 else response.json()["error"]["code"]
            with lock:
                answers.append((response.status_code, code, sent))
            if not keep_going(response.status_code, code, sent):
                return

    pool = ThreadPoolExecutor(max_workers=CLIENTS)
    futures = [pool.submit(client, w) for w in range(CLIENTS)]
    return answers, futures, pool


def test_stock_added_during_a_32_client_grab_is_issued_exactly(stack_url, http, bearer):
    shop_id = shop()
    tid = create(stack_url, http, bearer, shop_id, total_stock=200, stock_shards=8)
    added: list[float] = []  # when the edit was answered

    def keep_going(status, code, sent):  # until a claim sent after the edit's answer is sold out
        return not (code == "sold_out" and added and sent > added[0])

    answers, futures, pool = grab(stack_url, bearer, shop_id, tid, keep_going)
    while sum(1 for a in list(answers) if a[0] == 201) < 100:
        time.sleep(0.01)
    edit = http.patch(
        f"{stack_url}/coupons/templates/{tid}",
        json={"add_stock": 150},
        headers=bearer("merchant", shop=shop_id),
    )
    added.append(time.monotonic())
    for f in futures:
        f.result(timeout=300)
    pool.shutdown()
    assert edit.status_code == 200, edit.text
    read = http.get(f"{stack_url}/coupons/templates/{tid}", headers=bearer("merchant", shop=shop_id)).json()
    issued = sum(1 for a in answers if a[0] == 201)
    assert issued == read["issued_count"] == read["total_stock"] == 350, (issued, read)
    assert read["remaining_stock"] == 0
    assert {code for status, code, _ in answers if status != 201} == {"sold_out"}


def test_a_pause_holds_from_the_moment_it_is_answered(stack_url, http, bearer):
    import time

    shop_id = shop()
    tid = create(stack_url, http, bearer, shop_id, total_stock=100_000, stock_shards=8)
    answered: list[float] = []  # when the pause was answered

    def keep_going(status, code, sent):  # until a claim sent after the pause's answer is refused
        return not (code == "paused" and answered and sent > answered[0])

    answers, futures, pool = grab(stack_url, bearer, shop_id, tid, keep_going)
    while len(answers) < 200:
        time.sleep(0.01)
    pause = http.post(f"{stack_url}/coupons/templates/{tid}/pause", headers=bearer("merchant", shop=shop_id))
    paused_at = time.monotonic()
    answered.append(paused_at)
    for f in futures:
        f.result(timeout=300)
    pool.shutdown()
    assert pause.status_code == 200, pause.text
    read = http.get(f"{stack_url}/coupons/templates/{tid}", headers=bearer("merchant", shop=shop_id)).json()
    issued = sum(1 for a in answers if a[0] == 201)
    assert read["status"] == "paused" and read["issued_count"] == issued
    # Every claim sent after the pause was answered is refused as paused (claims in flight
    # when it was asked may still have taken their unit).
    after = [(status, code) for status, code, sent in answers if sent > paused_at]
    assert after and set(after) == {(409, "paused")}, after
    blocked = http.post(
        f"{stack_url}/coupons/templates/{tid}/claim", headers=bearer("customer", shop=shop_id, sub="after")
    )
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "paused"
    resumed = http.post(
        f"{stack_url}/coupons/templates/{tid}/resume", headers=bearer("merchant", shop=shop_id)
    )
    assert resumed.json()["status"] == "active"
    again = http.post(
        f"{stack_url}/coupons/templates/{tid}/claim", headers=bearer("customer", shop=shop_id, sub="after")
    )
    assert again.status_code == 201


def test_of_20_friends_accepting_one_gift_at_once_exactly_one_gets_it(stack_url, http, bearer):
    shop_id = shop()
    tid = create(stack_url, http, bearer, shop_id, total_stock=5, giftable=True)
    giver = bearer("customer", shop=shop_id, sub="giver")
    coupon = http.post(f"{stack_url}/coupons/templates/{tid}/claim", headers=giver).json()["coupon_id"]
    gift = http.post(f"{stack_url}/coupons/{coupon}/gifts", json={}, headers=giver).json()["gift_id"]
    gate = threading.Barrier(20)

    def accept(n: int) -> tuple[int, str | None]:
        session = requests.Session()
        gate.wait(timeout=30)
        answer = session.post(
            f"{stack_url}/coupons/gifts/{gift}/accept", headers=bearer("customer", shop=shop_id, sub=f"f{n}")
        )
        return answer.status_code, None if answer.status_code == 201 else answer.json()["error"]["code"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(accept, range(20)))
    assert results.count((201, None)) == 1, results
    assert results.count((409, "gift_taken")) == 19, results
    owners = []
    for n in range(20):
        mine = http.get(
            f"{stack_url}/coupons/me", headers=bearer("customer", shop=shop_id, sub=f"f{n}")
        ).json()
        owners += [n] * len(mine["items"])
    assert len(owners) == 1
    left = http.get(f"{stack_url}/coupons/me", headers=giver).json()["items"]
    assert [c["status"] for c in left] == ["gifted"]


def test_32_concurrent_locks_take_exactly_what_the_budget_holds(stack_url, http, bearer):
    shop_id = shop()
    tid = create(stack_url, http, bearer, shop_id, total_stock=40, budget_amount=5000)  # 10 locks of 500
    subs = [f"b{n}" for n in range(CLIENTS)]
    coupons = {}
    for sub in subs:
        claim = http.post(
            f"{stack_url}/coupons/templates/{tid}/claim", headers=bearer("customer", shop=shop_id, sub=sub)
        )
        coupons[sub] = claim.json()["coupon_id"]
    gate = threading.Barrier(CLIENTS)

    def lock(sub: str) -> tuple[int, str | None]:
        session = requests.Session()
        gate.wait(timeout=30)
        answer = session.post(
            f"{stack_url}/coupons/{coupons[sub]}/lock",
            json={"order_id": f"o-{sub}"},
            headers=bearer("customer", shop=shop_id, sub=sub),
        )
        return answer.status_code, None if answer.status_code == 200 else answer.json()["error"]["code"]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lock, subs))
    assert results.count((200, None)) == 10, results
    assert results.count((409, "budget_exhausted")) == CLIENTS - 10, results
    read = http.get(f"{stack_url}/coupons/templates/{tid}", headers=bearer("merchant", shop=shop_id)).json()
    assert read["budget_used_amount"] == 5000
