"""The wishlist over real HTTP on the local stack: concurrent friends, revoked links, surprise
mode, expiring reservations, and order events delivered twice or out of order."""

from __future__ import annotations

import concurrent.futures
import threading
import uuid

import pytest
import requests


@pytest.fixture
def shop() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"


class Wishlist:
    def __init__(self, url: str, http, bearer, shop: str, owner: str = "owner") -> None:
        self.url, self.http, self.bearer, self.shop, self.owner = url, http, bearer, shop, owner

    def as_(self, sub: str, role: str = "customer") -> dict:
        return self.bearer(role, shop=self.shop, sub=sub)

    def create(self, *, quantity: int = 1, surprise: bool = False, items: int = 1) -> dict:
        owner = self.as_(self.owner)
        body = {"title": "Housewarming", "occasion": "new flat", "surprise": surprise}
        created = self.http.post(f"{self.url}/wishlist/lists", json=body, headers=owner)
        assert created.status_code == 201, created.text
        list_id = created.json()["list_id"]
        item_ids = []
        for n in range(items):
            item = {"product_id": f"p-{n}", "name": f"Lamp {n}", "unit_amount": 19900, "quantity": quantity}
            added = self.http.post(f"{self.url}/wishlist/lists/{list_id}/items", json=item, headers=owner)
            assert added.status_code == 201, added.text
            item_ids.append(added.json()["item_id"])
        shared = self.http.post(f"{self.url}/wishlist/lists/{list_id}/share", headers=owner)
        assert shared.status_code == 201, shared.text
        return {"list_id": list_id, "item_id": item_ids[0], "items": item_ids, **shared.json()}

    def reserve(self, wish: dict, sub: str, item_id: str | None = None, **body) -> requests.Response:
        path = f"/wishlist/shared/{wish['share_token']}/items/{item_id or wish['item_id']}/reservations"
        return requests.post(f"{self.url}{path}", json=body, headers=self.as_(sub), timeout=30)

    def owner_view(self, wish: dict) -> requests.Response:
        return self.http.get(f"{self.url}/wishlist/lists/{wish['list_id']}", headers=self.as_(self.owner))

    def owner_item(self, wish: dict, item_id: str | None = None) -> dict:
        items = self.owner_view(wish).json()["items"]
        (found,) = [i for i in items if i["item_id"] == (item_id or wish["item_id"])]
        return found

    def public(self, wish: dict, sub: str = "friend") -> requests.Response:
        return self.http.get(f"{self.url}/wishlist/shared/{wish['share_token']}", headers=self.as_(sub))

    def post_event(self, event: dict) -> None:
        response = self.http.post(
            f"{self.url}/events/orders", json=event, headers=self.as_("shop", "storefront")
        )
        assert response.status_code == 202, response.text


@pytest.fixture
def wl(stack_url, http, bearer, shop) -> Wishlist:
    return Wishlist(stack_url, http, bearer, shop)


def paid_event(
    wish,
    *,
    event_id,
    order_id,
    buyer="friend-1",
    reservation_id=None,
    item_id=None,
    quantity=1,
    kind="order.paid",
    refund_amount=None,
) -> dict:
    ref = {"list_id": wish["list_id"], "item_id": item_id or wish["item_id"]}
    if reservation_id:
        ref["reservation_id"] = reservation_id
    line = {
        "line_id": "l-1",
        "product_id": "p-0",
        "quantity": quantity,
        "unit_amount": 19900,
        "paid_amount": 19900 * quantity,
        "wishlist_item": ref,
    }
    event = {
        "event_id": event_id,
        "type": kind,
        "order_id": order_id,
        "customer_id": buyer,
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [line],
    }
    if refund_amount is not None:
        event["refund"] = {
            "refund_id": f"r-{order_id}",
            "lines": [{"line_id": "l-1", "amount": refund_amount}],
        }
    return event


def _wishlist_queue(http, url) -> dict:
    return http.get(f"{url}/_local/status", timeout=5).json()["queues"]["wishlist"]


def wait_processed(wl: Wishlist, wait_until, sent: int, before: int) -> None:
    """Until the wishlist consumer has taken ``sent`` more messages and its queue is empty."""

    def done() -> bool:
        queue = _wishlist_queue(wl.http, wl.url)
        return queue["messages"] >= before + sent and queue["depth"] == 0

    wait_until(done, timeout=20)


def test_ten_friends_reserving_the_last_unit_at_once_get_exactly_one_reservation(wl):
    wish = wl.create(quantity=1)
    url = f"{wl.url}/wishlist/shared/{wish['share_token']}/items/{wish['item_id']}/reservations"
    friends = []
    for n in range(10):  # each friend connected before the race, so the ten requests leave together
        session = requests.Session()
        session.get(f"{wl.url}/wishlist/health", timeout=10).raise_for_status()
        friends.append((session, wl.as_(f"friend-{n}")))
    start = threading.Barrier(10)

    def attempt(friend) -> requests.Response:
        session, headers = friend
        start.wait()
        return session.post(url, json={}, headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(attempt, friends))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"nothing_left"}
    item = wl.public(wish).json()["items"][0]
    assert (item["reserved_quantity"], item["open_quantity"]) == (1, 0)


def test_sixteen_friends_share_out_a_quantity_without_overselling(wl):
    wish = wl.create(quantity=5)
    url = f"{wl.url}/wishlist/shared/{wish['share_token']}/items/{wish['item_id']}/reservations"
    friends = []
    for n in range(16):
        session = requests.Session()
        session.get(f"{wl.url}/wishlist/health", timeout=10).raise_for_status()
        friends.append((session, wl.as_(f"friend-{n}"), 1 + n % 2))
    start = threading.Barrier(16)

    def attempt(friend) -> tuple[int, int]:
        session, headers, quantity = friend
        start.wait()
        return quantity, session.post(
            url, json={"quantity": quantity}, headers=headers, timeout=30
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, friends))
    assert {status for _, status in results} <= {201, 409}
    granted = sum(q for q, status in results if status == 201)
    item = wl.public(wish).json()["items"][0]
    assert item["reserved_quantity"] == granted <= 5 and item["open_quantity"] == 5 - granted
    # Nobody was refused while enough was open (nothing frees up within the 30 minute holds).
    refused = [q for q, status in results if status == 409]
    if refused:
        assert item["open_quantity"] < min(refused)


def test_revoked_link_reads_404_at_once(wl):
    wish = wl.create()
    assert wl.public(wish).status_code == 200
    revoked = wl.http.delete(f"{wl.url}/wishlist/lists/{wish['list_id']}/share", headers=wl.as_(wl.owner))
    assert revoked.status_code == 204
    gone = wl.public(wish)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert wl.reserve(wish, "friend-1").status_code == 404
    again = wl.http.post(f"{wl.url}/wishlist/lists/{wish['list_id']}/share", headers=wl.as_(wl.owner)).json()
    assert again["share_token"] != wish["share_token"]
    assert wl.http.get(again["url"], headers=wl.as_("friend-1")).status_code == 200


def test_surprise_owner_view_has_no_buyer_id_anywhere(wl, wait_until):
    wish = wl.create(quantity=2, surprise=True)
    rid = wl.reserve(wish, "friend-secret").json()["reservation_id"]
    wl.post_event(
        paid_event(
            wish,
            event_id=f"e-{uuid.uuid4()}",
            order_id="order-secret",
            buyer="buyer-secret",
            reservation_id=rid,
        )
    )
    wait_until(lambda: wl.owner_item(wish)["fulfilled_quantity"] == 1, timeout=15)
    response = wl.owner_view(wish)
    text = response.text
    for secret in ("buyer-secret", "friend-secret", "order-secret"):
        assert secret not in text
    body = response.json()
    assert body["surprise"] is True and body["items"][0]["fulfilled_by"] is None
    public = wl.public(wish, "someone").text
    assert "buyer-secret" not in public and "friend-secret" not in public and wl.owner not in public


def test_without_surprise_the_owner_sees_who_fulfilled(wl, wait_until):
    wish = wl.create(quantity=1)
    wl.post_event(paid_event(wish, event_id=f"e-{uuid.uuid4()}", order_id="o-1", buyer="aunt-may"))
    wait_until(lambda: wl.owner_item(wish)["fulfilled_quantity"] == 1, timeout=15)
    assert [f["customer_id"] for f in wl.owner_item(wish)["fulfilled_by"]] == ["aunt-may"]


def test_an_expiring_reservation_frees_the_item(wl, wait_until):
    wish = wl.create(quantity=1)
    # 3 s: long enough that the refusal below lands inside the hold on a loaded machine
    first = wl.reserve(wish, "friend-1", hold_seconds=3)
    assert first.status_code == 201
    assert wl.reserve(wish, "friend-2").status_code == 409
    wait_until(lambda: wl.public(wish).json()["items"][0]["open_quantity"] == 1, timeout=10)
    second = wl.reserve(wish, "friend-2")
    assert second.status_code == 201, second.text
    item = wl.public(wish).json()["items"][0]
    assert (item["reserved_quantity"], item["open_quantity"]) == (1, 0)


def test_duplicate_and_reordered_events_fulfil_each_line_once(wl, wait_until):
    wish = wl.create(quantity=2, items=2)
    first, second = wish["items"]
    before = _wishlist_queue(wl.http, wl.url)["messages"]
    paid = paid_event(wish, event_id=f"e-{uuid.uuid4()}", order_id=f"o-{uuid.uuid4().hex[:8]}")
    wl.post_event(paid)
    wl.post_event(paid)  # accepted twice, published once
    wl.post_event({**paid, "event_id": f"e-{uuid.uuid4()}"})  # the same payment again, another id
    # On the second item, the refund arrives before its payment.
    order = f"o-{uuid.uuid4().hex[:8]}"
    refund = paid_event(
        wish,
        event_id=f"e-{uuid.uuid4()}",
        order_id=order,
        item_id=second,
        quantity=2,
        kind="order.refunded",
        refund_amount=2 * 19900,
    )
    wl.post_event(refund)
    wait_processed(wl, wait_until, sent=3, before=before)
    wl.post_event(paid_event(wish, event_id=f"e-{uuid.uuid4()}", order_id=order, item_id=second, quantity=2))
    wait_processed(wl, wait_until, sent=4, before=before)
    assert wl.owner_item(wish, first)["fulfilled_quantity"] == 1
    late = wl.owner_item(wish, second)
    assert (late["fulfilled_quantity"], late["open_quantity"]) == (0, 2)


def test_cancelled_order_gives_the_reservation_back(wl, wait_until):
    wish = wl.create(quantity=1)
    rid = wl.reserve(wish, "friend-1").json()["reservation_id"]
    cancel = paid_event(
        wish, event_id=f"e-{uuid.uuid4()}", order_id="o-c", reservation_id=rid, kind="order.cancelled"
    )
    wl.post_event(cancel)
    wait_until(lambda: wl.public(wish).json()["items"][0]["open_quantity"] == 1, timeout=15)
    assert wl.reserve(wish, "friend-2").status_code == 201


def test_bad_input_is_a_clear_4xx_and_nothing_is_written(wl):
    wish = wl.create(quantity=1)
    owner = wl.as_(wl.owner)
    items = f"{wl.url}/wishlist/lists/{wish['list_id']}/items"
    for bad in ({"quantity": 0}, {"quantity": 1000}, {"name": "n" * 201}):
        body = {"product_id": "p", "name": "ok", "unit_amount": 1, "quantity": 1, **bad}
        response = wl.http.post(items, json=body, headers=owner)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert wl.http.get(f"{wl.url}/wishlist/shared/not-a-token", headers=wl.as_("f")).status_code == 404
    assert wl.reserve(wish, wl.owner).status_code == 403
    over = wl.reserve(wish, "friend-1", quantity=2)
    assert over.status_code == 409 and over.json()["error"]["code"] == "nothing_left"
    view = wl.owner_view(wish).json()
    assert len(view["items"]) == 1 and view["items"][0]["reserved_quantity"] == 0
