"""Customer binding through the gateway (moto): a repeat order without a code earns the bound
distributor and the tier-2 inviter; the distributor sees bound customers masked; the
merchant lists, transfers (not to a suspended distributor) and unbinds, audited."""

from __future__ import annotations


def _merchant(dist):
    return dist.auth("merchant", "s1", "m1")


def test_binding_repeat_orders_views_and_merchant_changes(dist):
    code, _ = dist.chain()
    dist.rules(binding_days=30)
    dist.send(dist.paid("o-1", code, customer="customer-0001"))
    dist.send(dist.paid("o-2", None, customer="customer-0001"))  # no code: the binding earns
    dist.send(dist.paid("o-3", None, customer="customer-9999"))  # no code, never bound: nothing
    assert dist.amounts("c")[0] == 2000 and dist.amounts("p")[0] == 1000
    mine = dist.gateway.get("/distribution/me/customers", headers=dist.auth("customer", "s1", "c")).json()
    assert mine["items"] == [
        {
            "customer_id": "cu***01",
            "distributor_id": "c",
            "bound_at": mine["items"][0]["bound_at"],
            "orders": 2,
            "gmv_amount": 20000,
        }
    ]
    seen = dist.gateway.get("/distribution/distributors/c/customers", headers=_merchant(dist)).json()
    assert [c["customer_id"] for c in seen["items"]] == ["customer-0001"]

    assert dist.register("z").status_code == 201
    assert (
        dist.gateway.post("/distribution/distributors/z/suspend", headers=_merchant(dist)).status_code == 200
    )
    path = "/distribution/customers/customer-0001/binding"
    refused = dist.gateway.post(
        f"{path}/transfer", {"distributor_id": "z", "reason": "r"}, headers=_merchant(dist)
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "distributor_not_approved"
    missing = dist.gateway.post(f"{path}/transfer", {"distributor_id": "z"}, headers=_merchant(dist))
    assert missing.status_code == 400  # a reason is required
    assert (
        dist.gateway.post("/distribution/distributors/z/approve", headers=_merchant(dist)).status_code == 200
    )
    moved = dist.gateway.post(
        f"{path}/transfer", {"distributor_id": "z", "reason": "customer asked"}, headers=_merchant(dist)
    )
    assert moved.status_code == 200 and moved.json()["distributor_id"] == "z"
    dist.send(dist.paid("o-4", None, customer="customer-0001"))
    assert dist.amounts("z")[0] == 1000 and dist.amounts("c")[0] == 2000  # later orders only
    gone = dist.gateway.post(f"{path}/unbind", {"reason": "fraud review"}, headers=_merchant(dist))
    assert gone.status_code == 200 and gone.json()["distributor_id"] is None
    dist.send(dist.paid("o-5", None, customer="customer-0001"))
    assert dist.amounts("z")[0] == 1000
    history = dist.gateway.get(path, headers=_merchant(dist)).json()["history"]
    assert [(h["action"], h["to_distributor"], h.get("by")) for h in history] == [
        ("bind", "c", None),
        ("transfer", "z", "m1"),
        ("unbind", None, "m1"),
    ]
    for sub in ("c", "p", "z"):
        assert dist.reconcile(sub)["consistent"]
