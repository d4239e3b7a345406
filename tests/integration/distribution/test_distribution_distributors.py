"""Rules, distributors (apply, invite, approve, suspend) and share links over the gateway."""

from __future__ import annotations


def _error(response, status, code):
    assert response.status_code == status, response
    assert response.json()["error"]["code"] == code, response.json()


def test_rules_round_trip_and_defaults(dist, gateway, auth):
    defaults = gateway.get("/distribution/rules", headers=auth("merchant", "s1", "m1"))
    assert defaults.status_code == 200 and defaults.json()["default_rate_bps"] == 0
    saved = dist.rules(product_rates_bps={"p-9": 2500}, settle_after_days=3)
    got = gateway.get("/distribution/rules", headers=auth("merchant", "s1", "m1")).json()
    assert got == saved
    assert (
        got["product_rates_bps"] == {"p-9": 2500}
        and got["parent_rate_bps"] == 500
        and got["settle_after_days"] == 3
    )


BAD_RULES = [
    {"default_rate_bps": 10001},
    {"default_rate_bps": -1},
    {"default_rate_bps": 10.5},
    {"default_rate_bps": "100"},
    {"parent_rate_bps": 500},  # tier 2 without tier 1
    {"default_rate_bps": 0, "product_rates_bps": {"p-1": 0}, "parent_rate_bps": 1},
    {"default_rate_bps": 9000, "parent_rate_bps": 1001},  # together above 100%
    {"default_rate_bps": 100, "product_rates_bps": {"p-1": 20000}},
    {"default_rate_bps": 100, "settle_after_days": -1},
    {"default_rate_bps": 100, "auto_approve": "yes"},
    {"default_rate_bps": 100, "unknown": 1},
]


def test_bad_rules_are_400_and_change_nothing(gateway, auth):
    for body in BAD_RULES:
        response = gateway.put("/distribution/rules", body, headers=auth("merchant", "s1", "m1"))
        _error(response, 400, "invalid_request")
    malformed = gateway.request(
        "PUT", "/distribution/rules", body=b"{not json", headers=auth("merchant", "s1", "m1")
    )
    _error(malformed, 400, "invalid_request")
    assert (
        gateway.get("/distribution/rules", headers=auth("merchant", "s1", "m1")).json()["updated_at"] is None
    )


def test_roles_are_enforced(gateway, auth):
    assert gateway.put("/distribution/rules", {}, headers=auth("customer")).status_code == 403
    assert gateway.post("/distribution/distributors", {}, headers=auth("merchant")).status_code == 403
    assert gateway.post("/distribution/settlements", {}, headers=auth("customer")).status_code == 403
    assert gateway.get("/distribution/me/balance", headers=auth("storefront")).status_code == 403
    assert gateway.get("/distribution/me/balance").status_code == 401


def test_register_pending_then_approved_by_the_merchant(dist, gateway, auth):
    dist.rules(auto_approve=False)
    response = dist.register("d1")
    assert response.status_code == 201
    assert response.json() == {
        "distributor_id": "d1",
        "status": "pending",
        "parent_id": None,
        "created_at": response.json()["created_at"],
        "level_id": None,  # the base until an evaluation moves them
    }
    again = dist.register("d1")  # the same request again (a retry): the same registration
    assert again.status_code == 201 and again.json() == response.json()
    dist.rules(auto_approve=True)
    assert dist.register("d0").status_code == 201
    dist.rules(auto_approve=False)
    _error(dist.register("d1", invited_by="d0"), 409, "already_registered")  # another request
    # a pending distributor cannot make links or invite
    _error(gateway.post("/distribution/links", {}, headers=auth("customer", "s1", "d1")), 403, "forbidden")
    _error(dist.register("d2", invited_by="d1"), 409, "inviter_not_approved")
    approved = gateway.post("/distribution/distributors/d1/approve", headers=auth("merchant", "s1", "m1"))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert (
        gateway.get("/distribution/me", headers=auth("customer", "s1", "d1")).json()["status"] == "approved"
    )
    assert dist.register("d2", invited_by="d1").json()["parent_id"] == "d1"
    _error(
        gateway.post("/distribution/distributors/nobody/approve", headers=auth("merchant", "s1", "m1")),
        404,
        "not_found",
    )
    # another shop's merchant sees nothing of this one
    _error(
        gateway.post("/distribution/distributors/d1/approve", headers=auth("merchant", "s2", "m2")),
        404,
        "not_found",
    )
    _error(
        gateway.get("/distribution/distributors/d1/balance", headers=auth("merchant", "s2", "m2")),
        404,
        "not_found",
    )


def test_invitations_need_an_approved_inviter_of_the_same_shop(dist):
    dist.rules()
    assert dist.register("a").status_code == 201
    _error(dist.register("a2", invited_by="a2"), 400, "invalid_request")
    _error(dist.register("b", invited_by="ghost"), 404, "not_found")
    dist.rules(shop="s2")
    _error(dist.register("b", invited_by="a", shop="s2"), 404, "not_found")
    created = dist.register("b", invited_by="a")
    assert created.status_code == 201
    assert (created.json()["status"], created.json()["parent_id"]) == ("approved", "a")
    # a's invitee cannot become a's inviter: that would be a cycle
    _error(dist.register("a", invited_by="b"), 409, "invite_cycle")


def test_links_are_unique_per_distributor_and_product_and_unguessable(dist, gateway, auth):
    dist.rules()
    dist.register("d1")
    dist.register("d2")
    shop_code = dist.link("d1")
    assert dist.link("d1") == shop_code
    product_code = dist.link("d1", product_id="p-1")
    assert product_code != shop_code and dist.link("d1", product_id="p-1") == product_code
    other = dist.link("d2", product_id="p-1")
    assert len({shop_code, product_code, other}) == 3
    assert all(len(code) >= 16 for code in (shop_code, product_code, other))
    created = gateway.post(
        "/distribution/links", {"product_id": "p-1"}, headers=auth("customer", "s1", "d1")
    ).json()
    assert created["url"].endswith(f"/distribution/links/{product_code}") and created["url"].startswith(
        "http"
    )
    resolved = gateway.get(f"/distribution/links/{product_code}", headers=auth("storefront", "s1", "sf"))
    assert resolved.status_code == 200 and resolved.json()["product_id"] == "p-1"
    _error(
        gateway.get(f"/distribution/links/{product_code}", headers=auth("storefront", "s2", "sf")),
        404,
        "not_found",
    )
    _error(
        gateway.post("/distribution/links", {"product_id": "x" * 200}, headers=auth("customer", "s1", "d1")),
        400,
        "invalid_request",
    )
    _error(
        gateway.post("/distribution/links", {}, headers=auth("customer", "s1", "stranger")), 403, "forbidden"
    )


def _withdraw(gateway, auth, sub, amount, **headers):
    return gateway.post(
        "/distribution/me/withdrawals", {"amount": amount}, headers=auth("customer", "s1", sub, **headers)
    )


def _funded(dist, sub="d1", amount=10000):
    """An approved distributor with ``amount`` * 10% available (settle_after_days 0)."""
    dist.rules(settle_after_days=0)
    assert dist.register(sub).status_code == 201
    dist.send(dist.paid(f"o-{sub}", dist.link(sub), [("l-1", amount)]))
    dist.settle()
    assert dist.amounts(sub) == (0, amount // 10, 0)


def test_a_suspended_distributor_cannot_withdraw_until_approved_again(dist, gateway, auth):
    _funded(dist)
    merchant = auth("merchant", "s1", "m1")
    assert gateway.post("/distribution/distributors/d1/suspend", headers=merchant).status_code == 200
    _error(_withdraw(gateway, auth, "d1", 500), 409, "distributor_suspended")
    _error(_withdraw(gateway, auth, "d1", 500, **{"idempotency-key": "k-1"}), 409, "distributor_suspended")
    assert dist.amounts("d1") == (0, 1000, 0)  # the balance is kept, not paid out
    assert [e["kind"] for e in dist.ledger("d1")] == ["settlement", "accrual"]
    assert gateway.post("/distribution/distributors/d1/approve", headers=merchant).status_code == 200
    paid = _withdraw(gateway, auth, "d1", 500)
    assert paid.status_code == 201 and paid.json()["available_amount"] == 500
    assert dist.amounts("d1") == (0, 500, 0) and dist.reserved("d1") == 500


def test_a_pending_distributor_cannot_withdraw(dist, gateway, auth):
    dist.rules(auto_approve=False)
    assert dist.register("d1").status_code == 201
    _error(_withdraw(gateway, auth, "d1", 1), 409, "distributor_not_approved")


def test_a_suspension_landing_during_a_withdrawal_stops_it(dist, gateway, auth, monkeypatch):
    """The status is a condition of the balance write: a suspension between the withdrawal's
    read and its write makes the write fail, and the re-read refuses."""
    from chalicelib.distribution.usecases import STORES

    _funded(dist)
    real_write = STORES.distributors.write_balance
    calls = {"n": 0}

    def suspended_meanwhile(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            STORES.distributors.set_status("s1", "d1", "suspended", "2026-11-20T00:00:00Z")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(STORES.distributors, "write_balance", suspended_meanwhile)
    _error(_withdraw(gateway, auth, "d1", 1000), 409, "distributor_suspended")
    assert calls["n"] == 1
    monkeypatch.setattr(STORES.distributors, "write_balance", real_write)
    assert dist.amounts("d1") == (0, 1000, 0)
    assert dist.reconcile("d1")["consistent"]


def test_a_link_shows_its_owner_only_to_the_owner_and_the_merchant(dist, gateway, auth):
    dist.rules()
    dist.register("d1")
    code = dist.link("d1", product_id="p-1")
    seen = {}
    for role, sub in (("customer", "d1"), ("merchant", "m1"), ("customer", "someone"), ("storefront", "sf")):
        response = gateway.get(f"/distribution/links/{code}", headers=auth(role, "s1", sub))
        assert response.status_code == 200, response
        body = response.json()
        assert body["code"] == code and body["product_id"] == "p-1" and body["url"].endswith(code)
        seen[(role, sub)] = body["distributor_id"]
    assert seen == {
        ("customer", "d1"): "d1",
        ("merchant", "m1"): "d1",
        ("customer", "someone"): None,
        ("storefront", "sf"): None,
    }
