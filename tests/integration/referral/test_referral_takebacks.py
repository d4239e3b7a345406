"""Domain holes of referral (issue 6): program limits, mutual referrals, signups voided by an
earlier order, rewards held through the refund window and taken back on a full refund."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaign_shared import clock


def _me(gateway, auth, customer):
    response = gateway.get("/referral/me", headers=auth("customer", sub=customer))
    assert response.status_code == 200, response
    return response.json()


def _signup(gateway, auth, customer, code):
    return gateway.post("/referral/signups", {"code": code}, headers=auth("customer", sub=customer))


def _grants(queued):
    return [m for m in queued("coupons") if m.get("type") == "coupon.grant"]


def _ago(**delta):
    return clock.iso(clock.now() - timedelta(**delta))


def _template(gateway, auth, per_customer_limit=5, stock=50):
    body = {
        "name": "reward",
        "kind": "amount_off",
        "amount_off": 500,
        "total_stock": stock,
        "per_customer_limit": per_customer_limit,
    }
    response = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert response.status_code == 201, response
    return response.json()["template_id"]


@pytest.fixture
def real_program(gateway, auth):
    """A program over real coupon templates (the coupons service issues and revokes)."""

    def put(**extra):
        body = {
            "referrer_template_id": _template(gateway, auth),
            "referee_template_id": _template(gateway, auth),
            "min_order_amount": 0,
            **extra,
        }
        response = gateway.put("/referral/program", body, headers=auth("merchant"))
        assert response.status_code == 200, response
        return response.json()

    return put


def _settle_messages(drain, rounds=4):
    for _ in range(rounds):  # referral -> coupons (grants, revokes) -> referral (answers)
        drain("referral")
        drain("coupons")
    drain("referral")


def _statuses(gateway, auth, *customers):
    return {
        c: [(r["side"], r["status"], r["reason"]) for r in _me(gateway, auth, c)["rewards"]]
        for c in customers
    }


def _wallet(gateway, auth, customer):
    response = gateway.get("/coupons/me", headers=auth("customer", sub=customer))
    return [c["status"] for c in response.json()["items"]]


# ---- program limits ------------------------------------------------------------------------


def test_a_referrer_template_that_cannot_pay_the_cap_is_refused(gateway, auth):
    one_each = _template(gateway, auth, per_customer_limit=1)
    three_each = _template(gateway, auth, per_customer_limit=3)
    body = {
        "referrer_template_id": one_each,
        "referee_template_id": three_each,
        "max_rewards_per_referrer": 2,
    }
    refused = gateway.put("/referral/program", body, headers=auth("merchant"))
    assert refused.status_code == 400, refused
    error = refused.json()["error"]
    assert error["code"] == "invalid_request"
    assert [(d["loc"], d["type"]) for d in error["details"]] == [
        (["body", "max_rewards_per_referrer"], "template_limit_too_low")
    ]
    assert gateway.get("/referral/program", headers=auth("merchant")).status_code == 404  # nothing written
    for ok in (
        {**body, "referrer_template_id": three_each},
        {**body, "max_rewards_per_referrer": 1},
        {"referrer_template_id": one_each, "referee_template_id": three_each},  # no cap
    ):
        response = gateway.put("/referral/program", ok, headers=auth("merchant"))
        assert response.status_code == 200, (ok, response)


def test_with_a_template_that_allows_the_cap_every_capped_reward_is_issued(
    gateway, auth, code_of, send, drain, paid
):
    referrer_t = _template(gateway, auth, per_customer_limit=2)
    body = {
        "referrer_template_id": referrer_t,
        "referee_template_id": _template(gateway, auth),
        "max_rewards_per_referrer": 2,
    }
    assert gateway.put("/referral/program", body, headers=auth("merchant")).status_code == 200
    code = code_of("alice")
    for friend in ("bob", "carol", "dave"):
        assert _signup(gateway, auth, friend, code).status_code == 201
        send(paid(friend, f"o-{friend}", 100))
    _settle_messages(drain)
    alice = sorted(r["status"] for r in _me(gateway, auth, "alice")["rewards"])
    assert alice == ["capped", "issued", "issued"]  # the second friend's reward is really issued
    assert _wallet(gateway, auth, "alice") == ["available", "available"]


# ---- mutual referrals ------------------------------------------------------------------------


def test_a_customer_cannot_sign_up_with_the_code_of_someone_they_referred(gateway, auth, code_of, row):
    alice, bob = code_of("alice"), code_of("bob")
    assert _signup(gateway, auth, "bob", alice).status_code == 201
    refused = _signup(gateway, auth, "alice", bob)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "mutual_referral"
    assert row(bob)["refusals"]["mutual_referral"] == 1 and row(bob)["signups"] == 0
    assert _me(gateway, auth, "alice")["referred_by"] is None
    assert _signup(gateway, auth, "alice", code_of("carol")).status_code == 201  # anyone else's code is fine


def test_two_customers_signing_up_with_each_others_code_at_once_cannot_both_succeed(
    gateway, auth, code_of, monkeypatch
):
    """Alice decides while Bob's signup with Alice's code commits: Alice's write is guarded by
    Bob's binding, so it fails, and deciding again refuses it."""
    from chalicelib.referral import store
    from chalicelib.referral.models import SignupIn
    from chalicelib.referral.usecases import funnel

    alice, bob = code_of("alice"), code_of("bob")
    real_commit = store.stores().customers.commit
    calls = {"n": 0}

    def interleaved(shop, outcome, now):
        calls["n"] += 1
        if calls["n"] == 1:  # bob signs up with alice's code in between
            funnel.signup("s1", "bob", SignupIn(code=alice))
        return real_commit(shop, outcome, now)

    monkeypatch.setattr(store.stores().customers, "commit", interleaved)
    with pytest.raises(Exception) as refused:
        funnel.signup("s1", "alice", SignupIn(code=bob))
    assert getattr(refused.value, "code", None) == "mutual_referral"
    assert _me(gateway, auth, "bob")["referred_by"]["code"] == alice
    assert _me(gateway, auth, "alice")["referred_by"] is None


# ---- new means new at order time ------------------------------------------------------------


def test_an_order_placed_before_the_signup_voids_it_when_it_arrives(
    gateway, auth, program, code_of, send, drain, paid, queued, row
):
    program()
    code = code_of("alice")
    assert _signup(gateway, auth, "bob", code).status_code == 201
    assert row(code)["signups"] == 1
    earlier = paid("bob", "o-early", 8000, at=_ago(hours=1))  # placed before, processed after
    send(earlier, earlier)
    drain("referral")
    item = row(code)
    assert item["signups"] == 0 and item["refusals"]["not_new_customer"] == 1
    assert (item["first_orders"], item["gmv_amount"], item["conversions"]) == (0, 0, 0)
    assert _me(gateway, auth, "alice")["referred_count"] == 0
    assert _me(gateway, auth, "bob")["referred_by"] is None
    # no reward ever follows: not from a later order, not from redelivery, not from a new signup
    send(paid("bob", "o-later", 9000), earlier)
    drain("referral")
    assert _grants(queued) == []
    again = _signup(gateway, auth, "bob", code)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_new_customer"
    assert row(code)["refusals"]["not_new_customer"] == 2 and row(code)["signups"] == 0
    assert _me(gateway, auth, "alice")["rewards"] == [] and _me(gateway, auth, "bob")["rewards"] == []


def test_a_conversion_voided_by_an_earlier_order_that_arrives_later_takes_the_rewards_back(
    gateway, auth, real_program, code_of, send, drain, paid, row
):
    real_program()
    code = code_of("alice")
    assert _signup(gateway, auth, "bob", code).status_code == 201
    send(paid("bob", "o-2", 9000))  # after the signup: converts
    drain("referral")
    assert row(code)["conversions"] == 1
    send(paid("bob", "o-1", 100, at=_ago(days=1)))  # before it, arriving now
    _settle_messages(drain)
    item = row(code)
    assert (item["signups"], item["conversions"], item["refusals"]["not_new_customer"]) == (0, 0, 1)
    assert _me(gateway, auth, "alice")["converted_count"] == 0
    assert _statuses(gateway, auth, "alice", "bob") == {
        "alice": [("referrer", "revoked", "not_new_customer")],
        "bob": [("referee", "revoked", "not_new_customer")],
    }
    assert _wallet(gateway, auth, "alice") == ["revoked"] and _wallet(gateway, auth, "bob") == ["revoked"]


# ---- rewards and refunds ----------------------------------------------------------------------


def test_without_a_hold_a_full_refund_revokes_unused_coupons_and_keeps_used_ones(
    gateway, auth, real_program, code_of, send, drain, paid, refunded
):
    real_program()
    assert _signup(gateway, auth, "bob", code_of("alice")).status_code == 201
    send(paid("bob", "o1", 6000))
    _settle_messages(drain)
    assert _statuses(gateway, auth, "alice", "bob") == {
        "alice": [("referrer", "issued", None)],
        "bob": [("referee", "issued", None)],
    }
    (bob_coupon,) = gateway.get("/coupons/me", headers=auth("customer", sub="bob")).json()["items"]
    locked = gateway.post(
        f"/coupons/{bob_coupon['coupon_id']}/lock", {"order_id": "o9"}, headers=auth("customer", sub="bob")
    )
    assert locked.status_code == 200
    send(refunded("bob", "o1", "r1", 1000))  # partial: nothing taken back
    _settle_messages(drain)
    assert [s for _, s, _ in _statuses(gateway, auth, "alice")["alice"]] == ["issued"]
    full = refunded("bob", "o1", "r2", 5000)
    send(full, full)
    _settle_messages(drain)
    assert _statuses(gateway, auth, "alice", "bob") == {
        "alice": [("referrer", "revoked", "converting_order_refunded")],
        "bob": [("referee", "revoke_failed", "coupon_used")],
    }
    assert _wallet(gateway, auth, "alice") == ["revoked"] and _wallet(gateway, auth, "bob") == ["locked"]


def test_a_refund_while_the_grant_is_in_flight_revokes_the_coupon_once_issued(
    gateway, auth, real_program, code_of, send, drain, paid, refunded
):
    real_program()
    assert _signup(gateway, auth, "bob", code_of("alice")).status_code == 201
    send(paid("bob", "o1", 6000))
    drain("referral")  # grants sent, not answered yet
    send(refunded("bob", "o1", "r1", 6000))
    drain("referral")
    assert [s for _, s, _ in _statuses(gateway, auth, "bob")["bob"]] == ["pending"]
    _settle_messages(drain)
    assert _statuses(gateway, auth, "bob")["bob"] == [("referee", "revoked", "converting_order_refunded")]
    assert _wallet(gateway, auth, "bob") == ["revoked"]


def test_held_rewards_are_granted_after_the_refund_window(
    gateway, auth, program, code_of, send, drain, paid, queued, monkeypatch
):
    from chalicelib.referral import consumer

    program(hold_days=7)
    assert _signup(gateway, auth, "bob", code_of("alice")).status_code == 201
    send(paid("bob", "o1", 100))
    drain("referral")
    assert _grants(queued) == []
    (reward,) = _me(gateway, auth, "bob")["rewards"]
    assert reward["status"] == "held" and reward["release_at"] > clock.iso(clock.now() + timedelta(days=6))
    assert consumer.release_held_rewards() == {"released": 0}
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=7, minutes=1))
    assert consumer.release_held_rewards() == {"released": 2}
    assert consumer.release_held_rewards() == {"released": 0}  # released once
    assert sorted(g["customer_id"] for g in _grants(queued)) == ["alice", "bob"]
    (reward,) = _me(gateway, auth, "bob")["rewards"]
    assert reward["status"] == "pending" and reward["release_at"] is None


def test_a_full_refund_within_the_hold_cancels_the_rewards(
    gateway, auth, program, code_of, send, drain, paid, refunded, queued, monkeypatch
):
    from chalicelib.referral import consumer

    program(hold_days=7)
    assert _signup(gateway, auth, "bob", code_of("alice")).status_code == 201
    send(paid("bob", "o1", 6000))
    drain("referral")
    send(refunded("bob", "o1", "r1", 2000), refunded("bob", "o1", "r2", 4000))
    drain("referral")
    assert _statuses(gateway, auth, "alice", "bob") == {
        "alice": [("referrer", "cancelled", "converting_order_refunded")],
        "bob": [("referee", "cancelled", "converting_order_refunded")],
    }
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=8))
    assert consumer.release_held_rewards() == {"released": 0}
    assert _grants(queued) == []


def test_the_daily_sweeps_are_scheduled(gateway):
    from infrastructure.dev.apps import load_app
    from infrastructure.local.scheduler import schedules_of

    names = {s.name for s in schedules_of(load_app("referral"))}
    assert {"release_held_rewards", "resend_stale_grants"} <= names


def test_an_unanswered_revoke_is_sent_again_then_given_up(
    gateway, auth, program, code_of, send, drain, paid, refunded, queued, monkeypatch
):
    from chalicelib.referral import consumer

    program()
    assert _signup(gateway, auth, "bob", code_of("alice")).status_code == 201
    send(paid("bob", "o1", 100))
    drain("referral")
    for grant in _grants(queued):  # the coupons service answers the grants
        send(
            {
                **{k: grant[k] for k in ("grant_id", "shop", "customer_id", "template_id")},
                "type": "coupon.grant_result",
                "status": "issued",
                "coupon_id": f"cp-{grant['customer_id']}",
            }
        )
    drain("referral")
    send(refunded("bob", "o1", "r1", 100))
    drain("referral")
    revokes = [m for m in queued("coupons") if m.get("type") == "coupon.revoke"]
    assert sorted((m["customer_id"], m["reason"]) for m in revokes) == [
        ("alice", "converting_order_refunded"),
        ("bob", "converting_order_refunded"),
    ]
    real_now = clock.now
    for step in range(1, consumer.MAX_SENDS):
        monkeypatch.setattr(clock, "now", lambda s=step: real_now() + timedelta(minutes=3 * s))
        assert consumer.resend_stale_grants() == {"resent": 2, "gave_up": 0}
    assert {m["type"] for m in queued("coupons")} == {"coupon.revoke"}
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=1))
    assert consumer.resend_stale_grants() == {"resent": 0, "gave_up": 2}
    assert _statuses(gateway, auth, "bob")["bob"] == [
        ("referee", "revoke_failed", "no answer from the coupons service")
    ]


def test_the_release_sweep_pages_through_many_due_rewards(
    gateway, auth, program, code_of, send, drain, paid, queued, monkeypatch
):
    from chalicelib.referral import consumer

    program(hold_days=1)
    code = code_of("alice")
    friends = [f"f{i}" for i in range(5)]
    for friend in friends:
        assert _signup(gateway, auth, friend, code).status_code == 201
        send(paid(friend, f"o-{friend}", 100))
    drain("referral")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=2))
    assert consumer.release_held_rewards(limit=3) == {"released": 10}  # rounds of 3 until none is left
    assert len({g["grant_id"] for g in _grants(queued)}) == 10
