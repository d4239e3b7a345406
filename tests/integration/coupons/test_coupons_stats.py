"""A template's stats: where its coupons stand now. Issued, redeemed, discount and GMV are
counters; locked and expired are counts of the coupons' keys-only indexes, so a lock that
lapsed stops counting as locked and a coupon whose validity ended unused counts as expired,
with no sweeper."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock, messaging


def stats(gateway, auth, tid):
    answer = gateway.get(f"/coupons/templates/{tid}/stats", headers=auth("merchant"))
    assert answer.status_code == 200, answer
    return answer.json()


def claim(gateway, auth, tid, sub):
    answer = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
    assert answer.status_code == 201, answer
    return answer.json()["coupon_id"]


def lock(gateway, auth, coupon, order, sub):
    answer = gateway.post(f"/coupons/{coupon}/lock", {"order_id": order}, headers=auth("customer", sub=sub))
    assert answer.status_code == 200, answer


def pay(drain, coupon, order, sub):
    line = {"line_id": "l1", "product_id": "p", "quantity": 1, "unit_amount": 9000, "paid_amount": 9000}
    messaging.send(
        "coupons",
        {
            "event_id": f"e-stats-{order}",
            "type": "order.paid",
            "shop": "s1",
            "order_id": order,
            "customer_id": sub,
            "coupon_id": coupon,
            "occurred_at": clock.iso(clock.now()),
            "lines": [line],
        },
    )
    drain("coupons:main")


def test_stats_count_locks_that_run_and_coupons_that_expired_unused(gateway, auth, drain, monkeypatch):
    body = {"name": "stats", "kind": "amount_off", "amount_off": 500, "total_stock": 10, "valid_days": 1}
    body["lock_ttl_seconds"] = 600
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    coupons = {sub: claim(gateway, auth, tid, sub) for sub in ("u1", "u2", "u3", "u4", "u5")}
    lock(gateway, auth, coupons["u1"], "o-1", "u1")  # a running lock
    lock(gateway, auth, coupons["u2"], "o-2", "u2")
    gateway.post(f"/coupons/{coupons['u2']}/unlock", headers=auth("customer", sub="u2"))
    lock(gateway, auth, coupons["u3"], "o-3", "u3")
    pay(drain, coupons["u3"], "o-3", "u3")  # redeemed: neither locked nor, later, expired

    now = stats(gateway, auth, tid)
    assert now["template_id"] == tid and now["status"] == "active"
    counts = {k: now[k] for k in ("issued_count", "locked_count", "redeemed_count", "expired_count")}
    assert counts == {"issued_count": 5, "locked_count": 1, "redeemed_count": 1, "expired_count": 0}
    assert (now["discount_total_amount"], now["redeemed_gmv_amount"], now["remaining_stock"]) == (
        500,
        9000,
        5,
    )
    assert now["invalidated_count"] == 0

    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=11))
    assert stats(gateway, auth, tid)["locked_count"] == 0  # the lock lapsed
    lock(gateway, auth, coupons["u4"], "o-4", "u4")
    assert stats(gateway, auth, tid)["locked_count"] == 1

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=1, minutes=1))
    later = stats(gateway, auth, tid)
    # u1 (its lock lapsed), u2, u4 (locked when it expired) and u5: never used
    assert (later["locked_count"], later["expired_count"], later["redeemed_count"]) == (0, 4, 1)
    released = gateway.post(f"/coupons/{coupons['u4']}/unlock", headers=auth("customer", sub="u4"))
    assert released.json()["status"] == "expired"  # released after its validity ended: still counted
    assert stats(gateway, auth, tid)["expired_count"] == 4


def test_stats_of_an_unknown_template_is_404_and_merchants_only(gateway, auth):
    assert gateway.get("/coupons/templates/tpl-nope/stats", headers=auth("merchant")).status_code == 404
    body = {"name": "s", "kind": "amount_off", "amount_off": 100, "total_stock": 1}
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    assert gateway.get(f"/coupons/templates/{tid}/stats", headers=auth("customer")).status_code == 403
    other_shop = gateway.get(f"/coupons/templates/{tid}/stats", headers=auth("merchant", shop="s2"))
    assert other_shop.status_code == 404


def test_a_coupon_that_never_expires_is_never_counted_expired(gateway, auth, monkeypatch):
    body = {"name": "forever", "kind": "amount_off", "amount_off": 100, "total_stock": 3}
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    claim(gateway, auth, tid, "u1")
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=3650))
    assert stats(gateway, auth, tid)["expired_count"] == 0


def test_given_and_invalidated_coupons_leave_the_counts_and_the_friends_coupon_joins(
    gateway, auth, drain, monkeypatch
):
    body = {"name": "g", "kind": "amount_off", "amount_off": 300, "total_stock": 10, "valid_days": 2}
    body["giftable"] = True
    tid = gateway.post("/coupons/templates", body, headers=auth("merchant")).json()["template_id"]
    given = claim(gateway, auth, tid, "giver")
    gift = gateway.post(f"/coupons/{given}/gifts", {}, headers=auth("customer", sub="giver")).json()
    friend = auth("customer", sub="friend")
    accepted = gateway.post(f"/coupons/gifts/{gift['gift_id']}/accept", headers=friend)
    assert accepted.status_code == 201, accepted
    held = claim(gateway, auth, tid, "holder")
    lock(gateway, auth, held, "o-h", "holder")  # voided when its lock is released
    claim(gateway, auth, tid, "idle")  # voided at once
    job = gateway.post(f"/coupons/templates/{tid}/invalidations", {}, headers=auth("merchant"))
    assert job.status_code == 202, job
    drain("coupons:bulk")
    assert stats(gateway, auth, tid)["locked_count"] == 1
    gateway.post(f"/coupons/{held}/unlock", headers=auth("customer", sub="holder"))

    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=3))
    later = stats(gateway, auth, tid)
    assert (later["issued_count"], later["locked_count"], later["invalidated_count"]) == (3, 0, 2)
    # the friend's coupon was voided too; the giver's was given away: nothing expired unused
    assert later["expired_count"] == 0
