"""Conversions and double-sided rewards: grant messages to coupons, results back, the cap."""

from __future__ import annotations


def _grants(queued):
    """The grant messages on the coupons queue, one per grant id (re-sends are the same grant)."""
    found = {}
    for message in queued("coupons"):
        if message.get("type") == "coupon.grant":
            previous = found.setdefault(message["grant_id"], message)
            assert previous == message
    return found


def _result(grant, status, coupon_id=None, reason=None):
    return {
        "type": "coupon.grant_result",
        "grant_id": grant["grant_id"],
        "shop": grant["shop"],
        "customer_id": grant["customer_id"],
        "template_id": grant["template_id"],
        "status": status,
        "coupon_id": coupon_id,
        "reason": reason,
    }


def _me(gateway, auth, customer, shop="s1"):
    response = gateway.get("/referral/me", headers=auth("customer", shop=shop, sub=customer))
    assert response.status_code == 200
    return response.json()


def _signup(gateway, auth, customer, code):
    response = gateway.post("/referral/signups", {"code": code}, headers=auth("customer", sub=customer))
    assert response.status_code == 201, response


def test_conversion_grants_one_coupon_each_side_even_when_paid_arrives_three_times(
    gateway, auth, program, code_of, send, drain, paid, queued, row
):
    program(min_order_amount=5000)
    code = code_of("alice")
    _signup(gateway, auth, "bob", code)
    for _ in range(3):
        send(paid("bob", "o1", 6000))
    drain("referral")
    grants = _grants(queued)
    assert sorted((g["customer_id"], g["template_id"]) for g in grants.values()) == [
        ("alice", "t-referrer"),
        ("bob", "t-referee"),
    ]
    assert all(g["shop"] == "s1" and g["reply_to"] == "referral" for g in grants.values())
    # a later order (or a later redelivery) grants nothing new
    send(paid("bob", "o2", 9000), paid("bob", "o1", 6000))
    drain("referral")
    assert set(_grants(queued)) <= set(grants)
    alice = _me(gateway, auth, "alice")
    assert (alice["referred_count"], alice["converted_count"]) == (1, 1)
    assert [(r["side"], r["status"], r["template_id"]) for r in alice["rewards"]] == [
        ("referrer", "pending", "t-referrer")
    ]
    bob = _me(gateway, auth, "bob")
    assert [(r["side"], r["status"], r["order_id"]) for r in bob["rewards"]] == [("referee", "pending", "o1")]
    assert bob["referred_by"]["converted"] is True
    assert row(code)["conversions"] == 1


def test_grant_results_are_recorded_issued_or_failed_with_reason(
    gateway, auth, program, code_of, send, drain, paid, queued
):
    program()
    _signup(gateway, auth, "bob", code_of("alice"))
    send(paid("bob", "o1", 100))
    drain("referral")
    grants = {g["customer_id"]: g for g in _grants(queued).values()}
    send(
        _result(grants["bob"], "issued", coupon_id="cp-1"),
        _result(grants["bob"], "issued", coupon_id="cp-1"),
        _result(grants["alice"], "failed", reason="sold_out"),
        _result(grants["alice"], "failed", reason="sold_out"),
    )
    drain("referral")
    (bob_reward,) = _me(gateway, auth, "bob")["rewards"]
    assert (bob_reward["status"], bob_reward["coupon_id"], bob_reward["reason"]) == ("issued", "cp-1", None)
    (alice_reward,) = _me(gateway, auth, "alice")["rewards"]
    assert (alice_reward["status"], alice_reward["reason"], alice_reward["coupon_id"]) == (
        "failed",
        "sold_out",
        None,
    )
    # an issued coupon is never turned back into a failure; a late success replaces a failure
    send(
        _result(grants["bob"], "failed", reason="sold_out"),
        _result(grants["alice"], "issued", coupon_id="cp-9"),
    )
    drain("referral")
    assert _me(gateway, auth, "bob")["rewards"][0]["status"] == "issued"
    assert _me(gateway, auth, "alice")["rewards"][0]["coupon_id"] == "cp-9"


def test_unknown_and_malformed_grant_results_are_dropped_or_dead_lettered(gateway, auth, send, drain, queued):
    unknown = {"grant_id": "rf-nope", "shop": "s1", "customer_id": "x", "template_id": "t"}
    send(_result(unknown, "issued", coupon_id="c"), {"type": "coupon.grant_result", "grant_id": 5})
    drain("referral")
    assert [m.get("grant_id") for m in queued("referral", dlq=True)] == [5]
    assert _me(gateway, auth, "x")["rewards"] == []


def test_below_min_order_amount_does_not_convert_until_an_order_reaches_it(
    gateway, auth, program, code_of, send, drain, paid, queued
):
    program(min_order_amount=5000)
    _signup(gateway, auth, "bob", code_of("alice"))
    send(paid("bob", "o1", 4999))
    drain("referral")
    assert _grants(queued) == {}
    assert _me(gateway, auth, "alice")["converted_count"] == 0
    send(paid("bob", "o2", 5000))
    drain("referral")
    assert len(_grants(queued)) == 2
    assert [r["order_id"] for r in _me(gateway, auth, "bob")["rewards"]] == ["o2"]


def test_the_referrer_cap_records_capped_rewards_and_still_rewards_referees(
    gateway, auth, program, code_of, send, drain, paid, queued
):
    program(cap=1)
    code = code_of("alice")
    for referee in ("bob", "carol"):
        _signup(gateway, auth, referee, code)
    send(paid("bob", "o1", 100))
    drain("referral")
    send(paid("carol", "o2", 100))
    drain("referral")
    grants = _grants(queued)
    assert sorted(g["customer_id"] for g in grants.values()) == ["alice", "bob", "carol"]
    alice = _me(gateway, auth, "alice")
    assert alice["converted_count"] == 2
    assert sorted((r["status"], r["reason"]) for r in alice["rewards"]) == [
        ("capped", "max_rewards_per_referrer reached"),
        ("pending", None),
    ]
    assert _me(gateway, auth, "carol")["rewards"][0]["status"] == "pending"


def test_a_channel_referral_rewards_the_referee_only(
    gateway, auth, program, channel, send, drain, paid, queued
):
    program()
    poster = channel("poster")
    _signup(gateway, auth, "bob", poster["code"])
    send(paid("bob", "o1", 100))
    drain("referral")
    assert [(g["customer_id"], g["template_id"]) for g in _grants(queued).values()] == [("bob", "t-referee")]


def test_without_a_program_nothing_converts_until_one_exists(
    gateway, auth, program, code_of, send, drain, paid, queued
):
    _signup(gateway, auth, "bob", code_of("alice"))
    send(paid("bob", "o1", 100))
    drain("referral")
    assert _grants(queued) == {}
    program()
    send(paid("bob", "o2", 100))
    drain("referral")
    assert len(_grants(queued)) == 2


def test_unanswered_grants_are_sent_again_then_given_up(
    gateway, auth, program, code_of, send, drain, paid, queued, monkeypatch
):
    from datetime import timedelta

    from campaign_shared import clock
    from chalicelib.referral import consumer

    program()
    _signup(gateway, auth, "bob", code_of("alice"))
    send(paid("bob", "o1", 100))
    drain("referral")
    first = _grants(queued)
    assert consumer.resend_stale_grants() == {"resent": 0, "gave_up": 0}
    real_now = clock.now
    for minutes in range(1, consumer.MAX_SENDS):  # the first send was the conversion
        monkeypatch.setattr(clock, "now", lambda m=minutes: real_now() + timedelta(minutes=3 * m))
        assert consumer.resend_stale_grants() == {"resent": 2, "gave_up": 0}
    assert set(_grants(queued)) == set(first)
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=1))
    assert consumer.resend_stale_grants() == {"resent": 0, "gave_up": 2}
    rewards = _me(gateway, auth, "alice")["rewards"] + _me(gateway, auth, "bob")["rewards"]
    assert [(r["status"], r["reason"]) for r in rewards] == [
        ("failed", "no answer from the coupons service")
    ] * 2
    assert consumer.resend_stale_grants() == {"resent": 0, "gave_up": 0}


def test_an_answered_grant_is_not_sent_again(
    gateway, auth, program, code_of, send, drain, paid, queued, monkeypatch
):
    from datetime import timedelta

    from campaign_shared import clock
    from chalicelib.referral import consumer

    program()
    _signup(gateway, auth, "bob", code_of("alice"))
    send(paid("bob", "o1", 100))
    drain("referral")
    grants = list(_grants(queued).values())
    send(*(_result(g, "issued", coupon_id=f"cp-{g['customer_id']}") for g in grants))
    drain("referral")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(minutes=10))
    assert consumer.resend_stale_grants() == {"resent": 0, "gave_up": 0}


def test_rewards_are_issued_by_the_coupons_service_end_to_end(gateway, auth, code_of, send, drain, paid):
    templates = []
    for name, stock in (("thanks", 1), ("welcome", 10)):
        body = {
            "name": name,
            "kind": "amount_off",
            "amount_off": 500,
            "total_stock": stock,
            "per_customer_limit": 5,
        }
        response = gateway.post("/coupons/templates", body, headers=auth("merchant"))
        assert response.status_code == 201, response
        templates.append(response.json()["template_id"])
    program = {
        "referrer_template_id": templates[0],
        "referee_template_id": templates[1],
        "min_order_amount": 0,
    }
    assert gateway.put("/referral/program", program, headers=auth("merchant")).status_code == 200
    code = code_of("alice")
    for referee in ("bob", "carol"):
        _signup(gateway, auth, referee, code)
    send(paid("bob", "o1", 100), paid("carol", "o2", 100), paid("bob", "o1", 100))
    drain("referral")
    drain("coupons")
    drain("referral")
    wallet = gateway.get("/coupons/me", headers=auth("customer", sub="alice")).json()["items"]
    alice = _me(gateway, auth, "alice")
    assert sorted(r["status"] for r in alice["rewards"]) == ["failed", "issued"]
    (issued,) = [r for r in alice["rewards"] if r["status"] == "issued"]
    (failed,) = [r for r in alice["rewards"] if r["status"] == "failed"]
    assert failed["reason"] == "sold_out"
    assert [c["coupon_id"] for c in wallet] == [issued["coupon_id"]]
    for referee in ("bob", "carol"):
        (reward,) = _me(gateway, auth, referee)["rewards"]
        coupons = gateway.get("/coupons/me", headers=auth("customer", sub=referee)).json()["items"]
        assert reward["status"] == "issued" and [c["coupon_id"] for c in coupons] == [reward["coupon_id"]]
        assert coupons[0]["template_id"] == templates[1]


def test_the_cap_holds_when_two_conversions_race(gateway, auth, program, code_of, paid, queued, monkeypatch):
    from chalicelib.referral import consumer, store

    program(cap=1)
    code = code_of("alice")
    for referee in ("bob", "carol"):
        _signup(gateway, auth, referee, code)
    real_commit = store.stores().customers.commit
    calls = {"n": 0}

    def interleaved(shop, outcome, now):
        calls["n"] += 1
        if calls["n"] == 1:  # carol converts while bob's conversion is being decided
            consumer.on_order_paid(paid("carol", "o2", 100))
        return real_commit(shop, outcome, now)

    monkeypatch.setattr(store.stores().customers, "commit", interleaved)
    consumer.on_order_paid(paid("bob", "o1", 100))
    alice = _me(gateway, auth, "alice")
    assert alice["converted_count"] == 2
    assert sorted(r["status"] for r in alice["rewards"]) == ["capped", "pending"]
    assert sorted(g["customer_id"] for g in _grants(queued).values()) == ["alice", "bob", "carol"]
