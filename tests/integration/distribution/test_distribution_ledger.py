"""Withdrawals, views, reconciliation, and the posting protocol under crashes, races and
late duplicates."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from campaign_shared import clock

LATER = "2030-01-01T00:00:00Z"


def _withdraw(dist, amount, sub="c", **headers):
    return dist.gateway.post(
        "/distribution/me/withdrawals",
        {"amount": amount} if amount is not None else {},
        headers=dist.auth("customer", "s1", sub, **headers),
    )


def _earn(dist, order_id="o-1", amount=10000):
    code = dist.link("c")
    dist.send(dist.paid(order_id, code, [("l-1", amount)]))
    dist.settle(LATER)


def test_withdrawals_up_to_available_only(dist):
    code, _ = dist.chain()
    dist.send(dist.paid("o-0", code))
    assert dist.amounts("c") == (1000, 0, 0)
    assert _withdraw(dist, 1).json()["error"]["code"] == "insufficient_balance"  # pending is not available
    dist.settle(LATER)
    _earn(dist)  # c: 2000 available
    for bad in (0, -1, 10.5, "100", True, 10**13, None):
        response = _withdraw(dist, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", (
            bad,
            response,
        )
    over = _withdraw(dist, 2001)
    assert over.status_code == 409 and over.json()["error"]["code"] == "insufficient_balance"
    assert dist.amounts("c") == (0, 2000, 0)
    ok = _withdraw(dist, 1600)
    assert ok.status_code == 201, ok
    assert ok.json()["available_amount"] == 400 and ok.json()["status"] == "pending_review"
    assert _withdraw(dist, 401).status_code == 409
    assert _withdraw(dist, 400).status_code == 201
    assert dist.amounts("c") == (0, 0, 0) and dist.reserved("c") == 2000  # reserved until paid
    assert [e["kind"] for e in dist.ledger("c", kind="withdrawal")] == ["withdrawal", "withdrawal"]
    assert dist.reconcile("c")["consistent"]
    stranger = _withdraw(dist, 1, sub="nobody")
    assert stranger.status_code == 404


def test_a_retried_withdrawal_with_the_same_idempotency_key_pays_once(dist, monkeypatch):
    from chalicelib.distribution.usecases import STORES

    dist.chain()
    _earn(dist)
    first = _withdraw(dist, 700, **{"idempotency-key": "k-1"})
    again = _withdraw(dist, 700, **{"idempotency-key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert dist.amounts("c") == (0, 300, 0) and dist.reserved("c") == 700
    # the first attempt of k-2 dies after debiting the balance (503, nothing stored for the
    # key): the client's retry completes that attempt instead of paying twice
    from botocore.exceptions import EndpointConnectionError

    def down(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    original = STORES.ledger.put_entries
    monkeypatch.setattr(STORES.ledger, "put_entries", down)
    failed = _withdraw(dist, 200, **{"idempotency-key": "k-2"})
    assert failed.status_code == 503, failed
    monkeypatch.setattr(STORES.ledger, "put_entries", original)
    retried = _withdraw(dist, 200, **{"idempotency-key": "k-2"})
    assert retried.status_code == 201, retried
    assert _withdraw(dist, 200, **{"idempotency-key": "k-2"}).json() == retried.json()
    assert dist.amounts("c") == (0, 100, 0) and dist.reserved("c") == 900
    report = dist.reconcile("c")
    assert report["consistent"] and report["journal_groups"] == 0
    assert len(dist.ledger("c", kind="withdrawal")) == 2


def test_a_withdrawal_racing_another_rereads_and_never_overdraws(dist, monkeypatch):
    from chalicelib.distribution.usecases import STORES, withdrawals

    dist.chain()
    _earn(dist)
    original = STORES.distributors.write_balance
    raced: list = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append(None)
            raced[0] = withdrawals.withdraw("s1", "c", 1000)  # lands between our read and our write
        return original(*args, **kwargs)

    monkeypatch.setattr(STORES.distributors, "write_balance", racing)
    loser = _withdraw(dist, 1000)
    assert raced and raced[0].available_amount == 0
    assert loser.status_code == 409 and loser.json()["error"]["code"] == "insufficient_balance"
    assert dist.amounts("c") == (0, 0, 0) and dist.reserved("c") == 1000


def test_a_delivery_that_crashes_between_steps_is_finished_by_the_retry(dist, monkeypatch):
    from chalicelib.distribution.usecases import STORES

    code, _ = dist.chain()
    steps = [  # the only writes of a first delivery after the order's (see usecases.posting)
        (STORES.distributors, "write_balance"),
        (STORES.ledger, "put_many"),
    ]
    for n, (module, step) in enumerate(steps, start=1):
        original = getattr(module, step)
        failures = []

        def crash_once(*args, _original=original, _failures=failures, **kwargs):
            if not _failures:
                _failures.append(True)
                raise ConnectionError("lost the connection")
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, step, crash_once)
        stats = dist.send(dist.paid(f"o-{n}", code, [("l-1", 5000), ("l-2", 5000)]))
        monkeypatch.setattr(module, step, original)
        assert failures and stats["failed"] == 1, step
        assert dist.amounts("c") == (1000 * n, 0, 0) and dist.amounts("p") == (500 * n, 0, 0), step
        for sub in ("c", "p"):
            report = dist.reconcile(sub)
            assert report["consistent"] and report["journal_groups"] == 0, (step, report)
            assert report["entry_count"] == 2 * n, (step, report)


def test_a_delivery_that_dies_holding_claims_is_finished_once_they_expire(dist, monkeypatch):
    from chalicelib.distribution import consumer
    from chalicelib.distribution.usecases import STORES, posting

    code, _ = dist.chain()
    event = dist.paid("o-1", code)
    original = STORES.ledger.put_many
    monkeypatch.setattr(STORES.orders, "release_group", lambda *a, **k: None)  # no chance to clean up
    monkeypatch.setattr(
        STORES.ledger, "put_many", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed"))
    )
    with pytest.raises(SystemExit):
        consumer.on_paid(event)
    monkeypatch.setattr(STORES.ledger, "put_many", original)
    with pytest.raises(posting.GroupsHeld):  # an immediate retry must not ack: the claims are live
        consumer.on_paid(event)
    # both balances were written (their groups are in the journals); no entry is
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
    assert dist.reconcile("c")["journal_groups"] == 1 and dist.reconcile("c")["entry_count"] == 0
    later = clock.now() + timedelta(seconds=posting.CLAIM_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    dist.send(event)
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
    for sub in ("c", "p"):
        report = dist.reconcile(sub)
        assert report["consistent"] and report["journal_groups"] == 0 and report["entry_count"] == 1, report


def test_a_crash_that_is_never_retried_stays_consistent_and_is_flushed(dist, monkeypatch):
    from chalicelib.distribution import consumer
    from chalicelib.distribution.usecases import STORES, posting

    code, _ = dist.chain()
    events = [dist.paid("o-1", code), dist.paid("o-2", code)]
    original = STORES.ledger.put_many

    def crash(event):  # the delivery dies after posting both balances; the message never comes back
        monkeypatch.setattr(
            STORES.ledger, "put_many", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("down"))
        )
        with pytest.raises(ConnectionError):
            consumer.on_paid(event)
        monkeypatch.setattr(STORES.ledger, "put_many", original)

    crash(events[0])
    report = dist.reconcile("c")
    assert report["journal_groups"] == 1 and report["entry_count"] == 0 and report["consistent"]
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
    assert posting.flush_journal("s1", "c", older_than_seconds=0) == 1  # an operator's repair
    assert (dist.reconcile("c")["journal_groups"], dist.reconcile("c")["entry_count"]) == (0, 1)
    crash(events[1])
    assert dist.reconcile("c")["journal_groups"] == 1 and dist.reconcile("p")["journal_groups"] == 2
    # once older than any live delivery could be, the next posting to the balance flushes it
    later = clock.now() + timedelta(seconds=posting.CLAIM_SECONDS + 60)
    monkeypatch.setattr(clock, "now", lambda: later)
    dist.send(dist.paid("o-3", code))
    for sub in ("c", "p"):
        report = dist.reconcile(sub)
        assert report["consistent"] and report["journal_groups"] == 0 and report["entry_count"] == 3, report
    assert dist.amounts("c") == (3000, 0, 0) and dist.amounts("p") == (1500, 0, 0)
    dist.send(*events)  # the messages come back from the DLQ much later: nobody gets anything twice
    assert dist.amounts("c") == (3000, 0, 0) and dist.amounts("p") == (1500, 0, 0)
    assert dist.reconcile("c")["consistent"] and dist.reconcile("p")["consistent"]


def test_a_late_duplicate_is_ignored(dist, monkeypatch):
    from chalicelib.distribution.usecases import posting

    code, _ = dist.chain()
    first = dist.paid("o-1", code)
    dist.send(first)
    dist.send(dist.refunded("o-1", "r-1", [("l-1", 1000)]))
    later = clock.now() + timedelta(days=30)
    monkeypatch.setattr(clock, "now", lambda: later)
    dist.send(first, dist.refunded("o-1", "r-1", [("l-1", 1000)]), first)
    assert dist.amounts("c") == (900, 0, 0) and dist.amounts("p") == (450, 0, 0)
    assert dist.reconcile("c")["consistent"] and dist.reconcile("c")["entry_count"] == 2
    assert posting.flush_journal("s1", "c", older_than_seconds=0) == 0


def test_reconciliation_reports_drift(dist, aws):
    from campaign_shared.resources import table_name
    from chalicelib.distribution.store import keys

    code, _ = dist.chain()
    dist.send(dist.paid("o-1", code))
    aws["dynamodb"].update_item(
        TableName=table_name("test", "distribution", "main"),
        Key={"pk": {"S": keys.dist_pk("s1", "c")}, "sk": {"S": "distributor"}},
        UpdateExpression="ADD pending :n",
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    report = dist.reconcile("c")
    assert (
        not report["consistent"] and report["drift"]["pending"] == 7 and report["ledger"]["pending"] == 1000
    )
    page = dist.gateway.get("/distribution/reconciliation", headers=dist.auth("merchant", "s1", "m1")).json()
    assert {r["distributor_id"]: r["consistent"] for r in page["items"]} == {"c": False, "p": True}


def test_views_page_filter_and_rank(dist, gateway, auth):
    code, parent_code = dist.chain()
    dist.send(
        *[dist.paid(f"o-{i}", code, [("l-1", 1000 * (i + 1))]) for i in range(5)],
        dist.paid("o-p", parent_code, [("l-1", 100000)]),
    )
    dist.send(dist.refunded("o-0", "r-1", [("l-1", 1000)]))
    first = gateway.get("/distribution/me/ledger?limit=3", headers=auth("customer", "s1", "c")).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = gateway.get(
        f"/distribution/me/ledger?limit=50&cursor={first['next_cursor']}", headers=auth("customer", "s1", "c")
    ).json()
    entries = first["items"] + rest["items"]
    assert len(entries) == 6 and rest["next_cursor"] is None
    assert sum(e["pending_delta"] for e in entries) == dist.balance("c")["pending_amount"] == 1400
    assert [e["kind"] for e in dist.ledger("c", kind="reversal")] == ["reversal"]
    assert len(dist.commissions("c", status="pending")) == 4
    assert [r["order_id"] for r in dist.commissions("c", status="reversed")] == ["o-0"]
    bad = gateway.get("/distribution/me/commissions?status=lost", headers=auth("customer", "s1", "c"))
    assert bad.status_code == 400
    assert (
        gateway.get("/distribution/me/ledger?cursor=forged", headers=auth("customer", "s1", "c")).status_code
        == 400
    )
    board = gateway.get("/distribution/leaderboard?limit=2", headers=auth("merchant", "s1", "m1")).json()
    assert [(i["distributor_id"], i["earned_amount"]) for i in board["items"]] == [
        ("p", 10000 + 700),
        ("c", 1400),
    ]
    merchant_view = gateway.get(
        "/distribution/distributors/c/balance", headers=auth("merchant", "s1", "m1")
    ).json()
    assert merchant_view == dist.balance("c")
    assert json.dumps(merchant_view)  # plain JSON, integers only
    assert all(isinstance(v, int) for k, v in merchant_view.items() if k.endswith("_amount"))
