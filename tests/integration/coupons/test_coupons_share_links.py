"""Share links: a template put into a group, 1:1 chats or Moments, by the merchant or by a
customer; claims through a link record it, and the link shows what it brought."""

from __future__ import annotations

import itertools

from campaign_shared import messaging

_orders = itertools.count()


def template(gateway, auth, **fields):
    body = {"name": "Group 10 off", "kind": "amount_off", "amount_off": 1000, "total_stock": 20, **fields}
    answer = gateway.post("/coupons/templates", body, headers=auth("merchant"))
    assert answer.status_code == 201, answer
    return answer.json()["template_id"]


def share(gateway, auth, tid, role="merchant", sub="m1", **body):
    return gateway.post(
        f"/coupons/templates/{tid}/share-links", {"channel": "group-1", **body}, headers=auth(role, sub=sub)
    )


def claim_through(gateway, auth, link, sub):
    return gateway.post(f"/coupons/share-links/{link}/claim", headers=auth("customer", sub=sub))


def pay(drain, coupon, customer, amounts=(6000, 3000)):
    order = f"o-share-{next(_orders)}"
    lines = [
        {"line_id": f"l{n}", "product_id": f"p{n}", "quantity": 1, "unit_amount": a, "paid_amount": a - 500}
        for n, a in enumerate(amounts)
    ]
    event = {
        "event_id": f"e-{order}",
        "type": "order.paid",
        "shop": "s1",
        "order_id": order,
        "customer_id": customer,
        "coupon_id": coupon,
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": lines,
    }
    messaging.send("coupons", event)
    messaging.send("coupons", event)  # redelivered: counted once
    drain("coupons:main")
    return order


def test_a_link_counts_claims_redemptions_and_the_gmv_it_brought(gateway, auth, drain):
    tid = template(gateway, auth)
    created = share(gateway, auth, tid, channel="wechat-group-mums")
    assert created.status_code == 201, created
    link = created.json()
    assert (link["channel"], link["sharer_id"], link["claims"]) == ("wechat-group-mums", None, 0)
    assert link["url"].endswith(f"/coupons/s/s1/{link['link_id']}")
    other = share(gateway, auth, tid, channel="moments").json()["link_id"]

    coupons = [claim_through(gateway, auth, link["link_id"], f"buyer-{n}").json() for n in range(3)]
    assert all(c["coupon_id"] for c in coupons)
    assert claim_through(gateway, auth, other, "buyer-x").status_code == 201
    plain = gateway.post(f"/coupons/templates/{tid}/claim", headers=auth("customer", sub="walk-in"))
    assert plain.status_code == 201
    pay(drain, coupons[0]["coupon_id"], "buyer-0")  # pays 8,000 of 9,000
    pay(drain, coupons[1]["coupon_id"], "buyer-1", amounts=(2000,))  # pays 1,500
    pay(drain, plain.json()["coupon_id"], "walk-in")  # not through a link

    shown = gateway.get(f"/coupons/share-links/{link['link_id']}", headers=auth("merchant")).json()
    assert (shown["claims"], shown["redemptions"]) == (3, 2)
    assert (shown["redeemed_gmv_amount"], shown["discount_amount"]) == (9500, 2000)
    listed = gateway.get(f"/coupons/templates/{tid}/share-links", headers=auth("merchant")).json()["items"]
    assert [(i["link_id"], i["claims"], i["redemptions"]) for i in listed] == [
        (link["link_id"], 3, 2),
        (other, 1, 0),
    ]
    # A repeat claim through the link is the claim's own 409, and counts nothing.
    again = claim_through(gateway, auth, link["link_id"], "buyer-0")
    assert again.status_code == 409 and again.json()["error"]["code"] == "per_customer_limit_reached"
    assert (
        gateway.get(f"/coupons/share-links/{link['link_id']}", headers=auth("merchant")).json()["claims"] == 3
    )


def test_a_customer_shares_as_themselves(gateway, auth):
    tid = template(gateway, auth)
    mine = share(gateway, auth, tid, role="customer", sub="c-anna", channel="1to1")
    assert mine.status_code == 201 and mine.json()["sharer_id"] == "c-anna", mine
    posing = share(gateway, auth, tid, role="customer", sub="c-anna", sharer_id="c-bob")
    assert posing.status_code == 403
    named = share(gateway, auth, tid, sharer_id="c-bob")
    assert named.json()["sharer_id"] == "c-bob"
    listing = gateway.get(f"/coupons/templates/{tid}/share-links", headers=auth("customer", sub="c-anna"))
    assert listing.status_code == 403


def test_the_public_url_resolves_and_the_qr_encodes_it(gateway, auth):
    tid = template(gateway, auth)
    link = share(gateway, auth, tid).json()
    public = gateway.get(f"/coupons/s/s1/{link['link_id']}")
    assert public.status_code == 200, public
    assert (public.json()["name"], public.json()["status"]) == ("Group 10 off", "active")
    assert public.json()["claim_path"] == f"/coupons/share-links/{link['link_id']}/claim"
    assert gateway.get(f"/coupons/s/s2/{link['link_id']}").status_code == 404
    svg = gateway.get(f"/coupons/share-links/{link['link_id']}/qr.svg", headers=auth("customer"))
    assert svg.status_code == 200 and svg.content.startswith(b"<?xml"), svg
    png = gateway.get(
        f"/coupons/share-links/{link['link_id']}/qr.png?scale=4",
        headers={**auth("merchant"), "Accept": "image/png"},
    )
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_share_requests_are_4xx_and_write_nothing(gateway, auth):
    tid = template(gateway, auth)
    for body in (
        {"channel": ""},
        {"channel": "has space"},
        {"channel": "x" * 65},
        {"channel": 5},
        {"sharer": "x"},
    ):
        answer = gateway.post(f"/coupons/templates/{tid}/share-links", body, headers=auth("merchant"))
        assert answer.status_code == 400, (body, answer)
    assert share(gateway, auth, "tpl-nope").status_code == 404
    assert gateway.post("/coupons/share-links/sl-nope/claim", headers=auth("customer")).status_code == 404
    gateway.post(f"/coupons/templates/{tid}/end", headers=auth("merchant"))
    ended = share(gateway, auth, tid)
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "ended"
    assert (
        gateway.get(f"/coupons/templates/{tid}/share-links", headers=auth("merchant")).json()["items"] == []
    )
