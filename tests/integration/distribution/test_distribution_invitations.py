"""Invitations through the gateway (moto): a distributor's invite code, URL and QR; a customer
who registers with the code becomes tier 2 under the inviter (and earns them tier-2
commission); self-invites, unapproved inviters and another shop's code are refused with
nothing written."""

from __future__ import annotations


def _invitation(dist, sub, shop="s1"):
    return dist.gateway.get("/distribution/me/invitation", headers=dist.auth("customer", shop, sub))


def _join(dist, sub, code, shop="s1"):
    return dist.gateway.post(
        "/distribution/distributors", {"invite_code": code}, headers=dist.auth("customer", shop, sub)
    )


def _error(response, status, code):
    assert response.status_code == status and response.json()["error"]["code"] == code, response


def test_a_customer_registering_with_an_invite_code_becomes_tier_2_under_the_inviter(dist):
    dist.rules()
    assert dist.register("p").status_code == 201
    invite = _invitation(dist, "p")
    assert invite.status_code == 200, invite
    body = invite.json()
    assert body["url"].endswith(f"/distribution/invitations/{body['code']}")
    assert _invitation(dist, "p").json() == body  # the same code every time
    qr = dist.gateway.get(body["qr_svg_path"], headers=dist.auth("customer", "s1", "p"))
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    assert qr.content.startswith(b"<?xml") and b"<svg" in qr.content

    joined = _join(dist, "c", body["code"])
    assert joined.status_code == 201 and joined.json()["parent_id"] == "p"
    dist.send(dist.paid("o-1", dist.link("c")))
    assert dist.amounts("c")[0] == 1000 and dist.amounts("p")[0] == 500  # tier 1 and tier 2


def test_invitations_that_are_refused_write_nothing(dist):
    dist.rules(auto_approve=False)
    assert dist.register("p").status_code == 201
    merchant = dist.auth("merchant", "s1", "m1")
    assert dist.gateway.post("/distribution/distributors/p/approve", headers=merchant).status_code == 200
    code = _invitation(dist, "p").json()["code"]
    _error(_join(dist, "p", code), 400, "invalid_request")  # a self-invite through one's own code
    assert (
        dist.gateway.get("/distribution/me", headers=dist.auth("customer", "s1", "p")).json()["parent_id"]
        is None
    )
    _error(_join(dist, "p2", code, shop="s2"), 404, "not_found")  # another shop's code
    _error(_join(dist, "c", "no-such-code"), 404, "not_found")
    both = dist.gateway.post(
        "/distribution/distributors",
        {"invite_code": code, "invited_by": "p"},
        headers=dist.auth("customer", "s1", "c"),
    )
    _error(both, 400, "invalid_request")
    assert dist.gateway.post("/distribution/distributors/p/suspend", headers=merchant).status_code == 200
    _error(_join(dist, "c", code), 409, "inviter_not_approved")
    for shop, sub in (("s1", "c"), ("s2", "p2")):
        me = dist.gateway.get("/distribution/me", headers=dist.auth("customer", shop, sub))
        assert me.status_code == 404  # nobody was registered
    _error(_invitation(dist, "p"), 403, "forbidden")  # a suspended distributor has no invitation


def test_a_self_invite_by_id_is_refused(dist):
    dist.rules()
    selfish = dist.gateway.post(
        "/distribution/distributors", {"invited_by": "z"}, headers=dist.auth("customer", "s1", "z")
    )
    _error(selfish, 400, "invalid_request")
    assert dist.gateway.get("/distribution/me", headers=dist.auth("customer", "s1", "z")).status_code == 404
