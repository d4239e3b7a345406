"""Visits, signups and the attribution funnel of /referral (report numbers computed by hand)."""

from __future__ import annotations

ZERO_REFUSALS = {"self_referral": 0, "already_referred": 0, "not_new_customer": 0, "mutual_referral": 0}


def _visit(gateway, auth, code, visitor, shop="s1"):
    return gateway.post(
        "/referral/visits", {"code": code, "visitor_id": visitor}, headers=auth("storefront", shop=shop)
    )


def _signup(gateway, auth, customer, code, shop="s1"):
    return gateway.post(
        "/referral/signups", {"code": code}, headers=auth("customer", shop=shop, sub=customer)
    )


def _stats_items(aws):
    table = "campaign-test-referral-stats"
    return (
        aws["dynamodb"].scan(TableName=table)["Items"]
        + aws["dynamodb"].scan(TableName="campaign-test-referral-visitors")["Items"]
    )


def test_visits_count_every_visit_and_unique_visitors(gateway, auth, channel, row):
    code = channel()["code"]
    first = _visit(gateway, auth, code, "v1")
    assert first.status_code == 202 and first.json() == {"code": code, "new_visitor": True}
    assert _visit(gateway, auth, code, "v1").json()["new_visitor"] is False
    assert _visit(gateway, auth, code.upper(), "v2").json() == {"code": code, "new_visitor": True}
    for _ in range(5):
        _visit(gateway, auth, code, "v3")
    item = row(code)
    assert (item["visits"], item["unique_visitors"]) == (8, 3)


def test_bad_visits_are_refused_and_write_nothing(gateway, auth, channel, aws):
    code = channel()["code"]
    assert _visit(gateway, auth, "zzzzzzzzzz", "v1").status_code == 404
    assert _visit(gateway, auth, code, "v1", shop="s2").status_code == 404
    for body in (
        {"code": code},
        {"code": code, "visitor_id": ""},
        {"code": code, "visitor_id": "a b"},
        {"code": code, "visitor_id": "x" * 129},
        {"visitor_id": "v1"},
        {"code": "", "visitor_id": "v1"},
        {"code": code, "visitor_id": 7},
        {"code": code, "visitor_id": "v1", "extra": 1},
    ):
        response = gateway.post("/referral/visits", body, headers=auth("storefront"))
        assert response.status_code == 400, (body, response)
        assert response.json()["error"]["code"] == "invalid_request"
    bad_json = gateway.request("POST", "/referral/visits", body=b"{not json", headers=auth("storefront"))
    assert bad_json.status_code == 400
    assert (
        gateway.post(
            "/referral/visits", {"code": code, "visitor_id": "v"}, headers=auth("customer")
        ).status_code
        == 403
    )
    assert _stats_items(aws) == []


def test_signup_binds_once_and_refusals_are_409_and_counted(gateway, auth, code_of, row, send, drain, paid):
    code = code_of("alice")
    response = _signup(gateway, auth, "bob", code)
    assert response.status_code == 201, response
    assert response.json()["code"] == code and response.json()["referrer_kind"] == "customer"
    assert response.json()["channel_id"] is None

    def refused(customer, expected, with_code=code):
        answer = _signup(gateway, auth, customer, with_code)
        assert answer.status_code == 409, answer
        assert answer.json()["error"]["code"] == expected

    refused("alice", "self_referral")
    refused("bob", "already_referred")
    refused("bob", "already_referred", with_code=code_of("carol"))
    send(paid("dave", "o-dave", 3000))
    drain("referral")
    refused("dave", "not_new_customer")
    item = row(code)
    assert item["signups"] == 1
    assert item["refusals"] == {
        **ZERO_REFUSALS,
        "self_referral": 1,
        "already_referred": 1,
        "not_new_customer": 1,
    }
    assert gateway.get("/referral/me", headers=auth("customer", sub="alice")).json()["referred_count"] == 1
    bob = gateway.get("/referral/me", headers=auth("customer", sub="bob")).json()
    assert bob["referred_by"]["code"] == code and bob["referred_by"]["converted"] is False


def test_signup_with_unknown_or_foreign_code_is_404_and_writes_nothing(gateway, auth, code_of, aws):
    code = code_of("alice")
    assert _signup(gateway, auth, "bob", "zzzzzzzzzz").status_code == 404
    assert _signup(gateway, auth, "bob", code, shop="s2").status_code == 404
    assert gateway.post("/referral/signups", {}, headers=auth("customer", sub="bob")).status_code == 400
    assert gateway.post("/referral/signups", {"code": code}, headers=auth("merchant")).status_code == 403
    assert gateway.get("/referral/me", headers=auth("customer", sub="bob")).json()["referred_by"] is None
    assert _stats_items(aws) == []


def test_report_numbers_for_a_scripted_funnel(
    gateway, auth, code_of, channel, row, send, drain, paid, refunded
):
    """Two codes, hand-computed: visits, signups, first orders, repeats, GMV less refunds."""
    alice = code_of("alice")
    poster = channel("spring poster")
    for visitor in ("v1", "v2", "v2", "v3"):
        _visit(gateway, auth, alice, visitor)
    for visitor in ("w1", "w1", "w1"):
        _visit(gateway, auth, poster["code"], visitor)
    for customer in ("b1", "b2", "b3"):
        assert _signup(gateway, auth, customer, alice).status_code == 201
    assert _signup(gateway, auth, "p1", poster["code"]).status_code == 201
    send(
        paid("b1", "o1", 10000),
        paid("b1", "o2", 5000),
        paid("b1", "o3", 2000),
        paid("b2", "o4", 8000),
        refunded("b2", "o4", "r1", 3000),
        # no signup: attributed to the channel by the order's referral_code, then a repeat without it
        paid("q1", "o5", 4000, code=poster["code"]),
        paid("q1", "o6", 1000),
        paid("p1", "o7", 2500),
        # an order of a customer nobody referred
        paid("zed", "o8", 9999),
    )
    drain("referral")
    a = row(alice)
    assert {
        k: a[k] for k in ("visits", "unique_visitors", "signups", "first_orders", "repeat_customers")
    } == {
        "visits": 4,
        "unique_visitors": 3,
        "signups": 3,
        "first_orders": 2,
        "repeat_customers": 1,
    }
    assert a["gmv_amount"] == 10000 + 5000 + 2000 + 8000 - 3000
    assert a["repurchase_rate_bps"] == 5000
    assert a["kind"] == "customer" and a["customer_id"] == "alice" and a["channel_id"] is None
    p = row(poster["code"])
    assert (p["visits"], p["unique_visitors"], p["signups"], p["first_orders"], p["repeat_customers"]) == (
        3,
        1,
        1,
        2,
        1,
    )
    assert p["gmv_amount"] == 4000 + 1000 + 2500 and p["repurchase_rate_bps"] == 5000
    assert p["channel_id"] == poster["channel_id"] and p["channel_name"] == "spring poster"
    by_channel = gateway.get(
        f"/referral/report?channel_id={poster['channel_id']}", headers=auth("merchant")
    ).json()
    assert by_channel["items"] == [p]
    everything = gateway.get("/referral/report", headers=auth("merchant")).json()
    assert [i["code"] for i in everything["items"]] == [poster["code"], alice]
    assert everything["next_cursor"] is None
    channels_only = gateway.get("/referral/report?kind=channel", headers=auth("merchant")).json()["items"]
    assert [i["code"] for i in channels_only] == [poster["code"]]


def test_report_pages_and_filters(gateway, auth, code_of, channel):
    codes = {code_of(f"c{i}") for i in range(3)} | {channel(f"ch{i}")["code"] for i in range(2)}
    seen, cursor = [], None
    while True:
        path = "/referral/report?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = gateway.get(path, headers=auth("merchant")).json()
        assert len(body["items"]) <= 2
        seen += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(codes)
    assert gateway.get("/referral/report?limit=0", headers=auth("merchant")).status_code == 400
    assert gateway.get("/referral/report?cursor=forged", headers=auth("merchant")).status_code == 400
    assert gateway.get("/referral/report?code=zzzzzzzzzz", headers=auth("merchant")).status_code == 404
    assert gateway.get("/referral/report?channel_id=nope", headers=auth("merchant")).status_code == 404
    assert gateway.get("/referral/report", headers=auth("merchant", shop="s2")).json()["items"] == []
    assert gateway.get("/referral/report", headers=auth("customer")).status_code == 403


def test_order_events_are_idempotent_and_order_free(gateway, auth, code_of, row, send, drain, paid, refunded):
    """A paid twice, a refund twice and before its payment: the same numbers as in order."""
    code = code_of("alice")
    _signup(gateway, auth, "bob", code)
    send(
        refunded("bob", "o1", "r1", 1000),
        refunded("bob", "o1", "r1", 1000),
        paid("bob", "o1", 6000),
        paid("bob", "o1", 6000),
        paid("bob", "o2", 4000),
        paid("bob", "o2", 4000),
        refunded("bob", "o2", "r2", 500),
    )
    drain("referral")
    send(paid("bob", "o1", 6000), refunded("bob", "o2", "r2", 500))
    drain("referral")
    item = row(code)
    assert (item["first_orders"], item["repeat_customers"], item["gmv_amount"]) == (
        1,
        1,
        6000 - 1000 + 4000 - 500,
    )


def test_a_full_refund_brings_gmv_to_zero_not_below(gateway, auth, code_of, row, send, drain, paid, refunded):
    code = code_of("alice")
    _signup(gateway, auth, "bob", code)
    send(paid("bob", "o1", 3000), refunded("bob", "o1", "r1", 2000), refunded("bob", "o1", "r2", 2000))
    drain("referral")
    item = row(code)
    assert (item["first_orders"], item["gmv_amount"]) == (1, 0)


def test_order_code_attribution_rules(gateway, auth, code_of, channel, row, send, drain, paid):
    poster = channel("poster")["code"]
    own = code_of("self")
    send(
        # an existing customer's later coded order does not move them to the channel
        paid("old", "o1", 1000, at="2026-01-01T00:00:00Z"),
        paid("old", "o2", 1000, code=poster, at="2026-02-01T00:00:00Z"),
        # the coded order is the customer's first, even though it arrives after a later one
        paid("late", "o4", 700, at="2026-03-02T00:00:00Z"),
        paid("late", "o3", 300, code=poster, at="2026-03-01T00:00:00Z"),
        # a customer's own code attributes nothing; an unknown code neither
        paid("self", "o5", 500, code=own),
        paid("stranger", "o6", 500, code="zzzzzzzzzz"),
    )
    drain("referral")
    item = row(poster)
    assert (item["first_orders"], item["repeat_customers"], item["gmv_amount"]) == (1, 1, 1000)
    mine = row(own)
    assert (mine["first_orders"], mine["gmv_amount"]) == (0, 0)


def test_foreign_and_malformed_messages(gateway, auth, code_of, row, send, drain, paid, queued):
    code = code_of("alice")
    send(paid("bob", "o1", 1000, code=code, shop="s2"))
    send({"type": "order.paid", "event_id": "broken"})
    stats = drain("referral")
    assert row(code)["first_orders"] == 0
    assert stats["referral"]["failed"] >= 1
    dead = queued("referral", dlq=True)
    assert [m["event_id"] for m in dead] == ["broken"]


def test_a_concurrent_change_of_the_customer_is_decided_again_not_lost(
    gateway, auth, code_of, row, paid, monkeypatch
):
    """Two order events of one customer interleave: the loser of the race re-reads and re-decides."""
    from chalicelib.referral import consumer, store

    code = code_of("alice")
    _signup(gateway, auth, "bob", code)
    real_commit = store.stores().customers.commit
    calls = {"n": 0}

    def interleaved(shop, outcome, now):
        calls["n"] += 1
        if calls["n"] == 1:  # another consumer commits bob's other order in between
            consumer.on_order_paid(paid("bob", "o2", 700))
        return real_commit(shop, outcome, now)

    monkeypatch.setattr(store.stores().customers, "commit", interleaved)
    consumer.on_order_paid(paid("bob", "o1", 300))
    assert calls["n"] == 3  # o1 lost its first commit, o2 committed, o1 committed on re-decision
    item = row(code)
    assert (item["first_orders"], item["repeat_customers"], item["gmv_amount"]) == (1, 1, 1000)
