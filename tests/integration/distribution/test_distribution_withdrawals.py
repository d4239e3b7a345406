"""Withdrawals as a workflow through the gateway (moto): request with a payout method and a
masked account, the configured minimum, the merchant's queue and CSV, review, payment,
rejection and failure returning the money exactly, and refusals that write nothing."""

from __future__ import annotations

LATER = "2030-01-01T00:00:00Z"


def _funded(dist, amount: int = 20000) -> None:
    """``c`` with ``amount // 10`` available, under a minimum withdrawal of 100."""
    code, _ = dist.chain()
    dist.rules(min_withdrawal_amount=100)
    dist.send(dist.paid("o-1", code, [("l-1", amount)]))
    dist.settle(LATER)


def _request(dist, amount, sub="c", **body):
    body = {"amount": amount, "method": "bank", "account": "6222021234567890123", **body}
    return dist.gateway.post("/distribution/me/withdrawals", body, headers=dist.auth("customer", "s1", sub))


def _review(dist, wid, action, body=None, sub="c"):
    return dist.gateway.post(
        f"/distribution/distributors/{sub}/withdrawals/{wid}/{action}",
        body or {},
        headers=dist.auth("merchant", "s1", "m1"),
    )


def _queue(dist, query=""):
    response = dist.gateway.get(
        f"/distribution/withdrawals{query}", headers=dist.auth("merchant", "s1", "m1")
    )
    assert response.status_code == 200, response
    return response.json()["items"]


def _error(response, status, code):
    assert response.status_code == status and response.json()["error"]["code"] == code, response


def test_request_review_and_pay_moves_available_to_reserved_to_withdrawn(dist):
    _funded(dist)
    made = _request(dist, 1500)
    assert made.status_code == 201, made
    body = made.json()
    wid = body["withdrawal_id"]
    assert (body["status"], body["method"], body["account_masked"]) == ("pending_review", "bank", "****0123")
    assert "6222021234567890123" not in made.content.decode()
    assert (dist.amounts("c"), dist.reserved("c")) == ((0, 500, 0), 1500)
    (queued,) = _queue(dist)
    assert (queued["withdrawal_id"], queued["distributor_id"], queued["amount"]) == (wid, "c", 1500)
    csv_response = dist.gateway.get(
        "/distribution/withdrawals.csv", headers=dist.auth("merchant", "s1", "m1")
    )
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.content.decode().split("\n")[1].startswith(f"{wid},c,1500,CNY,bank,****0123,")

    approved = _review(dist, wid, "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert _review(dist, wid, "approve").json()["status"] == "approved"  # idempotent
    assert _queue(dist) == [] and [w["withdrawal_id"] for w in _queue(dist, "?status=approved")] == [wid]
    _error(_review(dist, wid, "pay", {}), 400, "invalid_request")  # the payout reference is required
    paid = _review(dist, wid, "pay", {"payout_reference": "BANK-20261111-1"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert _review(dist, wid, "pay", {"payout_reference": "BANK-20261111-1"}).status_code == 200
    _error(_review(dist, wid, "pay", {"payout_reference": "BANK-OTHER"}), 409, "already_paid")
    assert (dist.amounts("c"), dist.reserved("c")) == ((0, 500, 1500), 0)
    kinds = [e["kind"] for e in dist.ledger("c")]
    assert kinds.count("withdrawal") == 1 and kinds.count("withdrawal_payout") == 1
    payout = next(e for e in dist.ledger("c") if e["kind"] == "withdrawal_payout")
    assert (payout["reserved_delta"], payout["withdrawn_delta"], payout["withdrawal_id"]) == (
        -1500,
        1500,
        wid,
    )
    mine = dist.gateway.get(f"/distribution/me/withdrawals/{wid}", headers=dist.auth("customer", "s1", "c"))
    assert mine.json()["payout_reference"] == "BANK-20261111-1"
    report = dist.reconcile("c")
    assert report["consistent"] and report["ledger"]["reserved"] == 0 and report["journal_groups"] == 0


def test_rejected_and_failed_requests_return_the_money_exactly(dist):
    _funded(dist)
    first = _request(dist, 700).json()["withdrawal_id"]
    second = _request(dist, 600, method="wechat", account="wxid_abcdefgh").json()["withdrawal_id"]
    assert dist.amounts("c")[1] == 700 and dist.reserved("c") == 1300
    _error(_review(dist, first, "reject", {}), 400, "invalid_request")  # a reason is required
    rejected = _review(dist, first, "reject", {"reason": "account name does not match"})
    assert rejected.status_code == 200 and rejected.json()["reason"] == "account name does not match"
    assert _review(dist, second, "approve").status_code == 200
    failed = _review(dist, second, "fail", {"reason": "bank returned the transfer"})
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    assert (dist.amounts("c"), dist.reserved("c")) == ((0, 2000, 0), 0)
    assert (
        sorted(e["kind"] for e in dist.ledger("c", kind="withdrawal_release")) == ["withdrawal_release"] * 2
    )
    assert dist.reconcile("c")["consistent"]


def test_refusals_are_4xx_and_write_nothing(dist):
    _funded(dist)
    before = (dist.amounts("c"), dist.reserved("c"), len(dist.ledger("c")))
    _error(_request(dist, 99), 400, "below_minimum")
    _error(_request(dist, 2001), 409, "insufficient_balance")
    for bad in ({"method": "paypal"}, {"account": None}, {"method": None}, {"account": ""}):
        _error(_request(dist, 500, **bad), 400, "invalid_request")
    wid = _request(dist, 500).json()["withdrawal_id"]
    assert _review(dist, wid, "reject", {"reason": "no"}).status_code == 200
    after_reject = (dist.amounts("c"), dist.reserved("c"), len(dist.ledger("c")))
    _error(_review(dist, wid, "approve"), 409, "invalid_transition")
    _error(_review(dist, wid, "pay", {"payout_reference": "X"}), 409, "invalid_transition")
    _error(_review(dist, "wd_unknown", "approve"), 404, "not_found")
    _error(_review(dist, wid, "approve", sub="p"), 404, "not_found")  # another distributor's path
    assert (dist.amounts("c"), dist.reserved("c"), len(dist.ledger("c"))) == after_reject
    assert after_reject[0] == before[0] and after_reject[1] == before[1] == 0
    other_shop = dist.gateway.post(
        f"/distribution/distributors/c/withdrawals/{wid}/approve",
        {},
        headers=dist.auth("merchant", "s2", "m"),
    )
    _error(other_shop, 404, "not_found")
    _error(
        dist.gateway.get("/distribution/withdrawals?status=lost", headers=dist.auth("merchant", "s1", "m1")),
        400,
        "invalid_request",
    )


def test_a_request_without_a_payout_method_still_works_for_existing_clients(dist):
    _funded(dist)
    response = dist.gateway.post(
        "/distribution/me/withdrawals", {"amount": 300}, headers=dist.auth("customer", "s1", "c")
    )
    assert response.status_code == 201 and response.json()["status"] == "pending_review"
    assert response.json()["method"] is None and response.json()["available_amount"] == 1700
