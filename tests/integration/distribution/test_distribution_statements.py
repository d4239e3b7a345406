"""Monthly statements through the gateway (moto): the distributor's own and the merchant's
view agree, tie out with the balance, and refuse a malformed month."""

from __future__ import annotations

from campaign_shared import clock

LATER = "2030-01-01T00:00:00Z"


def test_a_month_with_earnings_a_refund_and_a_paid_withdrawal(dist):
    code, _ = dist.chain()
    dist.send(dist.paid("o-1", code, [("l-1", 20000)]))  # c earns 2000 (November 2026)
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 5000)]))  # 500 reversed
    dist.settle(LATER)
    made = dist.gateway.post(
        "/distribution/me/withdrawals", {"amount": 1000}, headers=dist.auth("customer", "s1", "c")
    )
    wid = made.json()["withdrawal_id"]
    merchant = dist.auth("merchant", "s1", "m1")
    base = f"/distribution/distributors/c/withdrawals/{wid}"
    assert dist.gateway.post(f"{base}/approve", {}, headers=merchant).status_code == 200
    assert dist.gateway.post(f"{base}/pay", {"payout_reference": "P-1"}, headers=merchant).status_code == 200
    november = dist.gateway.get(
        "/distribution/me/statements/2026-11", headers=dist.auth("customer", "s1", "c")
    )
    assert november.status_code == 200, november
    body = november.json()
    assert (
        body["opening_amount"],
        body["earned_amount"],
        body["reversed_amount"],
        body["closing_amount"],
    ) == (
        0,
        2000,
        500,
        1500,
    )
    now_month = clock.iso(clock.now())[:7]  # the settlement and the withdrawal happen "now"
    current = dist.gateway.get(
        f"/distribution/distributors/c/statements/{now_month}", headers=merchant
    ).json()
    assert current["opening_amount"] == 1500 and current["withdrawn_amount"] == 1000
    assert current["closing_amount"] == 500 and current["reserved_amount"] == 0
    balance = dist.balance("c")
    assert (
        current["closing_amount"]
        == balance["pending_amount"] + balance["available_amount"] + balance["reserved_amount"]
    )
    bad = dist.gateway.get("/distribution/me/statements/2026-13", headers=dist.auth("customer", "s1", "c"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
