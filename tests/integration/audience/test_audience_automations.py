"""Automations through the gateway, with the real coupons service answering the grants:
deterministic control groups, one coupon per treatment customer however often the rule runs,
bad rules refused, and the lift report from the redemptions."""

from __future__ import annotations

import json
from datetime import timedelta

from campaign_shared import clock


def _template(gateway, merchant) -> str:
    body = {"name": "next order", "kind": "amount_off", "amount_off": 1000, "total_stock": 500}
    response = gateway.post("/coupons/templates", body, headers=merchant)
    assert response.status_code == 201, response
    return response.json()["template_id"]


def _paid(n: int, customer: str, at, amount: int = 10000) -> dict:
    line = {
        "line_id": "l-1",
        "product_id": "p-1",
        "quantity": 1,
        "unit_amount": amount,
        "paid_amount": amount,
    }
    return {
        "event_id": f"e-{n}",
        "type": "order.paid",
        "order_id": f"o-{n}",
        "customer_id": customer,
        "occurred_at": clock.iso(at),
        "lines": [line],
    }


def _settle(drain) -> None:
    for _ in range(4):  # audience -> coupons (grants) -> audience (results)
        stats = drain("audience", "coupons")
        if not any(s["messages"] for s in stats.values()):
            return


def test_bad_rules_are_refused_and_nothing_is_written(gateway, auth):
    merchant = auth("merchant", "s1", "m1")
    template = _template(gateway, merchant)
    bad = [
        {"trigger": {"type": "first_order"}, "template_id": "no-such-template"},
        {"trigger": {"type": "first_order"}, "template_id": template, "control_percent": 51},
        {"trigger": {"type": "first_order"}, "template_id": template, "control_percent": -1},
        {"trigger": {"type": "nth_order", "n": 0}, "template_id": template},
        {"trigger": {"type": "no_order_for_days"}, "template_id": template},
        {"trigger": {"type": "birthday"}, "template_id": template},
        {"trigger": {"type": "first_order"}, "template_id": template, "delay_days": -1},
        {"trigger": {"type": "first_order"}, "template_id": template, "colour": "red"},
    ]
    for body in bad:
        response = gateway.post("/audience/automations", body, headers=merchant)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", body
    assert gateway.get("/audience/automations", headers=merchant).json()["items"] == []
    created = gateway.post(
        "/audience/automations",
        {"trigger": {"type": "first_order"}, "template_id": template},
        headers=merchant,
    )
    assert created.status_code == 201 and created.json()["control_percent"] == 10
    # Another shop cannot name this shop's template.
    other = auth("merchant", "s2", "m2")
    body = {"trigger": {"type": "first_order"}, "template_id": template}
    assert gateway.post("/audience/automations", body, headers=other).status_code == 400


def test_first_order_rule_grants_treatment_once_and_reports_lift(gateway, auth, drain, aws):
    from infrastructure.dev.apps import load_app

    load_app("audience")
    from chalicelib.audience.domain.automations import arm, grant_id

    merchant = auth("merchant", "s1", "m1")
    store = auth("storefront", "s1", "store-1")
    template = _template(gateway, merchant)
    rule = gateway.post(
        "/audience/automations",
        {
            "name": "next order",
            "trigger": {"type": "first_order"},
            "template_id": template,
            "control_percent": 50,
        },
        headers=merchant,
    ).json()
    rule_id = rule["rule_id"]
    now = clock.now()
    customers = [f"c-{i}" for i in range(40)]
    for i, customer in enumerate(customers):
        assert (
            gateway.post(
                "/events/orders", _paid(i, customer, now - timedelta(seconds=1)), headers=store
            ).status_code
            == 202
        )
    _settle(drain)
    treatment = [c for c in customers if arm(rule_id, c, 50) == "treatment"]
    control = [c for c in customers if c not in treatment]
    assert 5 < len(treatment) < 35
    issued = gateway.get(f"/coupons/templates/{template}", headers=merchant).json()["issued_count"]
    assert issued == len(treatment)
    for customer in treatment[:3]:
        coupons = gateway.get("/coupons/me", headers=auth("customer", "s1", customer)).json()["items"]
        assert [c["template_id"] for c in coupons] == [template]
    assert gateway.get("/coupons/me", headers=auth("customer", "s1", control[0])).json()["items"] == []

    # Reruns (the schedule, a manual run) and redelivered events grant nothing more.
    assert gateway.post(f"/audience/automations/{rule_id}/runs", headers=merchant).status_code == 202
    assert (
        gateway.post(
            "/events/orders", _paid(0, customers[0], now - timedelta(seconds=1)), headers=store
        ).status_code
        == 202
    )
    _settle(drain)
    assert gateway.get(f"/coupons/templates/{template}", headers=merchant).json()["issued_count"] == len(
        treatment
    )

    # Second orders: every treatment customer redeems its coupon (coupon.redeemed carries the
    # grant), half the control customers buy again without one.
    later = now + timedelta(days=3)
    topic = aws["resources"]["topics"]["coupon-events"]
    for i, customer in enumerate(treatment):
        n = 1000 + i
        gateway.post("/events/orders", _paid(n, customer, later, amount=9000), headers=store)
        redeemed = {
            "type": "coupon.redeemed",
            "event_id": f"red-{n}",
            "shop": "s1",
            "customer_id": customer,
            "order_id": f"o-{n}",
            "coupon_id": f"cp-{n}",
            "template_id": template,
            "grant_id": grant_id(rule_id, "1", customer),
            "discount_amount": 1000,
            "occurred_at": clock.iso(later),
        }
        aws["sns"].publish(
            TopicArn=topic["arn"] if isinstance(topic, dict) else topic, Message=json.dumps(redeemed)
        )
    buyers = control[: len(control) // 2]
    for i, customer in enumerate(buyers):
        gateway.post("/events/orders", _paid(2000 + i, customer, later, amount=5000), headers=store)
    _settle(drain)

    day = now.date().isoformat()
    lift = gateway.get(f"/audience/automations/{rule_id}/lift?from={day}&to={day}", headers=merchant)
    assert lift.status_code == 200, lift
    body = lift.json()
    assert body["treatment"] == {
        "customers": len(treatment),
        "repurchasers": len(treatment),
        "repurchase_rate_bps": 10000,
        "gmv_amount": 9000 * len(treatment),
        "gmv_per_customer_amount": 9000,
        "coupon_cost_amount": 1000 * len(treatment),
    }
    assert body["control"]["customers"] == len(control) and body["control"]["repurchasers"] == len(buyers)
    assert body["control"]["coupon_cost_amount"] == 0 and body["control"]["gmv_amount"] == 5000 * len(buyers)
    assert body["method"].startswith("Welch")
    if min(len(treatment), len(control)) < 30:
        assert body["verdict"] == "not_significant_yet" and body["ci95_low_per_customer_amount"] is None
    assert (
        gateway.get(
            f"/audience/automations/{rule_id}/lift?from=2020-01-01&to={day}", headers=merchant
        ).status_code
        == 400
    )


def test_win_back_rule_enrolls_lapsed_customers_on_a_run_once(gateway, auth, drain):
    from infrastructure.dev.apps import load_app

    load_app("audience")
    from chalicelib.audience.domain.automations import arm

    merchant = auth("merchant", "s1", "m1")
    store = auth("storefront", "s1", "store-1")
    template = _template(gateway, merchant)
    now = clock.now()
    for i in range(12):
        at = now - timedelta(days=70 if i < 8 else 10)  # 8 lapsed, 4 recent
        assert gateway.post("/events/orders", _paid(i, f"w-{i}", at), headers=store).status_code == 202
    _settle(drain)
    rule_id = gateway.post(
        "/audience/automations",
        {
            "trigger": {"type": "no_order_for_days", "days": 60},
            "template_id": template,
            "control_percent": 25,
        },
        headers=merchant,
    ).json()["rule_id"]
    for _ in range(2):  # a second run finds them enrolled and granted already
        assert gateway.post(f"/audience/automations/{rule_id}/runs", headers=merchant).status_code == 202
        _settle(drain)
    lapsed = [f"w-{i}" for i in range(8)]
    treatment = [c for c in lapsed if arm(rule_id, c, 25) == "treatment"]
    assert gateway.get(f"/coupons/templates/{template}", headers=merchant).json()["issued_count"] == len(
        treatment
    )
    day = now.date()
    first = (day - timedelta(days=20)).isoformat()
    lift = gateway.get(
        f"/audience/automations/{rule_id}/lift?from={first}&to={day.isoformat()}", headers=merchant
    ).json()
    assert lift["treatment"]["customers"] + lift["control"]["customers"] == 8
    assert lift["treatment"]["customers"] == len(treatment)
