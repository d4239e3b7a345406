"""Writes whose answer was lost and that were retried (found by fault injection, issue 8):
the retry meets its own committed write and must treat it as done, not as someone else's."""

from __future__ import annotations

import sys


def _lost_answer(monkeypatch, module, name):
    """The write commits, its answer is lost, and the caller sees the retry's answer."""
    real = getattr(module, name)

    def committed_then_retried(*args, **kwargs):
        real(*args, **kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, committed_then_retried)


def test_personal_code_survives_a_retried_write(gateway, auth, monkeypatch):
    store = sys.modules["chalicelib.referral.store"].stores()
    _lost_answer(monkeypatch, store.customers, "put_own_code")
    created = gateway.post("/referral/codes", headers=auth("customer", "s1", "alice"))
    assert created.status_code == 201, created
    code = created.json()["code"]
    monkeypatch.undo()
    assert gateway.post("/referral/codes", headers=auth("customer", "s1", "alice")).json()["code"] == code
    # The code still resolves: a signup through it binds the new customer.
    signup = gateway.post("/referral/signups", {"code": code}, headers=auth("customer", "s1", "bob"))
    assert signup.status_code == 201, signup


def test_channel_survives_a_retried_write(gateway, auth, monkeypatch):
    store = sys.modules["chalicelib.referral.store"].stores()
    _lost_answer(monkeypatch, store.channels, "create")
    created = gateway.post("/referral/channels", {"name": "poster"}, headers=auth("merchant", "s1", "m"))
    assert created.status_code == 201, created
    monkeypatch.undo()
    channel = created.json()
    signup = gateway.post(
        "/referral/signups", {"code": channel["code"]}, headers=auth("customer", "s1", "bob")
    )
    assert signup.status_code == 201, signup


def test_signup_survives_a_retried_commit(gateway, auth, monkeypatch):
    code = gateway.post("/referral/codes", headers=auth("customer", "s1", "alice")).json()["code"]
    store = sys.modules["chalicelib.referral.store"].stores()
    real = store.customers.commit

    def committed_then_refused(*args, **kwargs):
        assert real(*args, **kwargs)
        return False  # what the retried transaction answers: its own version check failed

    monkeypatch.setattr(store.customers, "commit", committed_then_refused)
    signup = gateway.post("/referral/signups", {"code": code}, headers=auth("customer", "s1", "bob"))
    assert signup.status_code == 201, signup
    monkeypatch.undo()
    report = gateway.get("/referral/report", headers=auth("merchant", "s1", "m")).json()["items"]
    row = next(r for r in report if r["code"] == code)
    assert row["signups"] == 1 and row.get("refusals", {}).get("already_referred", 0) == 0
