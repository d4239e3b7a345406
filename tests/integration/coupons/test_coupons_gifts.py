"""Gifting (转赠): the owner of an available coupon of a giftable template gives it to a friend
through a link that expires; the friend accepts once, and the coupon moves exactly once."""

from __future__ import annotations

from datetime import timedelta

from campaign_shared import clock


def claimed(gateway, auth, sub="giver", giftable=True, **fields):
    body = {"name": "Gift 15 off", "kind": "amount_off", "amount_off": 1500, "total_stock": 10, **fields}
    tid = gateway.post("/coupons/templates", {**body, "giftable": giftable}, headers=auth("merchant")).json()[
        "template_id"
    ]
    answer = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub=sub))
    assert answer.status_code == 201, answer
    return answer.json()["coupon_id"]


def give(gateway, auth, coupon, sub="giver", **body):
    return gateway.post(f"/coupons/{coupon}/gifts", body, headers=auth("customer", sub=sub))


def accept(gateway, auth, gift, sub="friend"):
    return gateway.post(f"/coupons/gifts/{gift}/accept", headers=auth("customer", sub=sub))


def wallet(gateway, auth, sub):
    return {
        c["coupon_id"]: c
        for c in gateway.get("/coupons/me", headers=auth("customer", sub=sub)).json()["items"]
    }


def test_a_gift_moves_the_coupon_to_the_friend_once_and_both_see_it(gateway, auth):
    coupon = claimed(gateway, auth)
    made = give(gateway, auth, coupon)
    assert made.status_code == 201, made
    gift = made.json()
    assert gift["status"] == "open" and len(gift["gift_id"]) > 20
    assert clock.parse(gift["expires_at"]) - clock.parse(gift["created_at"]) == timedelta(hours=24)
    held = wallet(gateway, auth, "giver")[coupon]
    assert (held["status"], held["gift"]["status"]) == ("gifting", "open")
    locked = gateway.post(
        f"/coupons/{coupon}/lock", {"order_id": "o-1"}, headers=auth("customer", sub="giver")
    )
    assert locked.status_code == 409  # not usable while the gift is open

    taken = accept(gateway, auth, gift["gift_id"])
    assert taken.status_code == 201, taken
    received = taken.json()
    assert (received["customer_id"], received["status"], received["amount_off"]) == (
        "friend",
        "available",
        1500,
    )
    assert received["gift"]["from_customer_id"] == "giver" and received["gift"]["to_customer_id"] == "friend"
    again = accept(gateway, auth, gift["gift_id"])  # the friend again: the same coupon
    assert again.status_code == 201 and again.json()["coupon_id"] == received["coupon_id"]
    late = accept(gateway, auth, gift["gift_id"], sub="someone")
    assert late.status_code == 409 and late.json()["error"]["code"] == "gift_taken"

    gone = wallet(gateway, auth, "giver")[coupon]
    assert (gone["status"], gone["gift"]["to_customer_id"]) == ("gifted", "friend")
    assert list(wallet(gateway, auth, "friend")) == [received["coupon_id"]]
    usable = gateway.post(
        f"/coupons/{received['coupon_id']}/lock", {"order_id": "o-2"}, headers=auth("customer", sub="friend")
    )
    assert usable.status_code == 200
    cart = {"lines": [{"product_id": "p", "quantity": 1, "unit_amount": 9000}]}
    mine = gateway.post("/coupons/for-cart", cart, headers=auth("customer", sub="giver")).json()
    assert mine["usable"] == [] and mine["unusable"] == []  # given away: spent for the giver


def test_bad_gifts_are_4xx_and_change_nothing(gateway, auth, drain):
    plain = claimed(gateway, auth, giftable=False)
    refused = give(gateway, auth, plain)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_giftable"
    locked = claimed(gateway, auth)
    gateway.post(f"/coupons/{locked}/lock", {"order_id": "o-9"}, headers=auth("customer", sub="giver"))
    assert give(gateway, auth, locked).json()["error"]["code"] == "not_available"
    assert give(gateway, auth, locked, sub="stranger").status_code == 404  # not theirs
    for bad in ({"expires_in_seconds": 59}, {"expires_in_seconds": 8 * 86400}, {"to": "x"}):
        assert give(gateway, auth, claimed(gateway, auth), **bad).status_code == 400, bad
    own = give(gateway, auth, claimed(gateway, auth)).json()["gift_id"]
    mine = accept(gateway, auth, own, sub="giver")
    assert mine.status_code == 409 and mine.json()["error"]["code"] == "own_gift"
    assert accept(gateway, auth, "gf-nope").status_code == 404
    assert (
        gateway.post(f"/coupons/gifts/{own}/accept", headers=auth("customer", shop="s2")).status_code == 404
    )
    assert wallet(gateway, auth, "giver")[locked]["status"] == "locked"


def test_the_giver_cancels_an_open_gift_and_the_coupon_is_theirs_again(gateway, auth):
    coupon = claimed(gateway, auth)
    gift = give(gateway, auth, coupon).json()["gift_id"]
    assert (
        gateway.post(f"/coupons/gifts/{gift}/cancel", headers=auth("customer", sub="friend")).status_code
        == 404
    )
    cancelled = gateway.post(f"/coupons/gifts/{gift}/cancel", headers=auth("customer", sub="giver"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled
    assert wallet(gateway, auth, "giver")[coupon]["status"] == "available"
    late = accept(gateway, auth, gift)
    assert late.status_code == 409 and late.json()["error"]["code"] == "gift_cancelled"


def test_an_expired_gift_cannot_be_accepted_and_the_coupon_is_back(gateway, auth, monkeypatch):
    coupon = claimed(gateway, auth)
    gift = give(gateway, auth, coupon, expires_in_seconds=600).json()
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=601))
    late = accept(gateway, auth, gift["gift_id"])
    assert late.status_code == 409 and late.json()["error"]["code"] == "gift_expired"
    assert wallet(gateway, auth, "giver")[coupon]["status"] == "available"
    public = gateway.get(f"/coupons/g/s1/{gift['gift_id']}").json()
    assert (public["status"], public["name"]) == ("expired", "Gift 15 off")
    again = give(gateway, auth, coupon)  # it can be given again
    assert again.status_code == 201, again


def test_a_paid_order_naming_a_coupon_being_given_is_a_conflict(gateway, auth, drain):
    from campaign_shared import messaging

    coupon = claimed(gateway, auth)
    give(gateway, auth, coupon)
    messaging.send(
        "coupons",
        {
            "event_id": "e-gift-paid",
            "type": "order.paid",
            "shop": "s1",
            "order_id": "o-gift",
            "customer_id": "giver",
            "coupon_id": coupon,
            "occurred_at": "2026-11-11T00:00:05Z",
            "lines": [
                {"line_id": "l1", "product_id": "p", "quantity": 1, "unit_amount": 9000, "paid_amount": 7500}
            ],
        },
    )
    drain("coupons:main")
    seen = gateway.get(f"/coupons/customers/giver/coupons/{coupon}", headers=auth("merchant")).json()
    assert seen["status"] == "gifting"
    assert [c["reason"] for c in seen["conflicts"]] == ["not_available"]
