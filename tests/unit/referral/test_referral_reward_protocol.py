"""The reward protocol on in-memory fakes (no moto): a conversion grants the referrer and the
referee one reward each, exactly once, whatever is retried, duplicated or crashed in between;
a full refund cancels held rewards and revokes issued ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from infrastructure.dev.apps import load_app

load_app("referral")  # the service folder is the Lambda task root: chalicelib.referral is importable

from campaign_shared import clock  # noqa: E402
from campaign_shared.grants import CouponGrantResult, CouponRevokeResult  # noqa: E402
from chalicelib.referral.domain import CodeOwner, PaidOrder, Program  # noqa: E402
from chalicelib.referral.models import SignupIn  # noqa: E402
from chalicelib.referral.store.records import CodeRecord, ProgramRecord  # noqa: E402
from chalicelib.referral.usecases import funnel, orders, rewards  # noqa: E402
from tests.unit.referral.fakes import Crash, FakeDb, LostAnswer  # noqa: E402

SHOP = "s1"
CODE = "ralice0000"


class Coupons:
    """The coupons service as the protocol sees it: one coupon per ``grant_id`` (a repeated
    grant gets the same answer), a revoke answered ``revoked`` unless the coupon was used."""

    def __init__(self, db: FakeDb) -> None:
        self.db = db
        self.read = 0
        self.issued: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.used: set[str] = set()

    def messages(self) -> list[dict[str, Any]]:
        return [m for service, m in self.db.sent if service == "coupons"]

    def answer(self) -> None:
        """Answer every message sent since the last call (answers may send more: repeat)."""
        while self.read < len(self.db.sent):
            service, message = self.db.sent[self.read]
            self.read += 1
            gid = message["grant_id"]
            if message["type"] == "coupon.grant":
                coupon = self.issued.setdefault(gid, f"cp-{len(self.issued) + 1}")
                answer = {k: message[k] for k in ("grant_id", "shop", "customer_id", "template_id")}
                result = CouponGrantResult(**answer, status="issued", coupon_id=coupon)
                rewards.grant_result(result, self.db.stores())
            else:
                ok = gid not in self.used
                if ok:
                    self.revoked.add(gid)
                answer = {k: message[k] for k in ("grant_id", "shop", "customer_id")}
                revoked = CouponRevokeResult(
                    **answer, status="revoked" if ok else "failed", reason=None if ok else "coupon_used"
                )
                rewards.revoke_result(revoked, self.db.stores())


@pytest.fixture
def db() -> FakeDb:
    fake = FakeDb()
    owner = CodeOwner(shop=SHOP, code=CODE, kind="customer", owner_id="alice")
    fake.codes[(SHOP, CODE)] = CodeRecord(owner=owner, created_at="2026-01-01T00:00:00Z")
    return fake


def _program(db: FakeDb, hold_days: int = 0, cap: int | None = None) -> None:
    program = Program("t-referrer", "t-referee", max_rewards_per_referrer=cap, reward_hold_days=hold_days)
    db.programs[SHOP] = ProgramRecord(program, "2026-01-01T00:00:00Z")


def _signup(db: FakeDb, customer: str = "bob") -> None:
    funnel.signup(SHOP, customer, SignupIn(code=CODE), db.stores())


def _paid(db: FakeDb, customer: str = "bob", order: str = "o1", amount: int = 6000) -> None:
    at = clock.iso(clock.now())
    orders.order_paid(SHOP, customer, PaidOrder(order, amount, at), db.stores())


def _refund(db: FakeDb, refund_id: str, amount: int, customer: str = "bob", order: str = "o1") -> None:
    orders.order_refunded(SHOP, customer, order, refund_id, amount, db.stores())


def _deliver(db: FakeDb, handler: Any, attempts: int = 5) -> None:
    """A queue delivering a message until its handler succeeds (a failure is redelivered)."""
    for _ in range(attempts):
        try:
            handler()
            return
        except (Crash, LostAnswer):
            continue
    raise AssertionError("never succeeded")


def _statuses(db: FakeDb) -> dict[str, tuple[str, str | None]]:
    return {r.customer_id: (r.status, r.reason) for r in db.rewards.values()}


def _grants(coupons: Coupons) -> list[str]:
    return [m["grant_id"] for m in coupons.messages() if m["type"] == "coupon.grant"]


def _converted_once(db: FakeDb, coupons: Coupons) -> None:
    assert sorted((r.customer_id, r.side) for r in db.rewards.values()) == [
        ("alice", "referrer"),
        ("bob", "referee"),
    ]
    assert sorted(coupons.issued) == sorted(r.grant_id for r in db.rewards.values())
    assert db.stats[(SHOP, CODE)].conversions == 1 and db.stats[(SHOP, CODE)].first_orders == 1
    assert db.referrers[(SHOP, "alice")] == {"referred_count": 1, "converted_count": 1, "rewards_granted": 1}
    assert {r.status for r in db.rewards.values()} == {"issued"}


# ---- a conversion grants each side once ----------------------------------------------------------


def test_a_conversion_grants_referrer_and_referee_once_whatever_the_duplicates(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    for _ in range(3):  # the order event delivered three times
        _paid(db)
    coupons.answer()
    _converted_once(db, coupons)
    assert len(_grants(coupons)) == 3 * 2  # re-sent while pending: the coupons service dedups by grant_id
    _paid(db)  # answered: a later duplicate sends nothing
    assert len(_grants(coupons)) == 6


def test_a_retried_commit_whose_answer_was_lost_converts_once(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    db.fail("customers.commit", "lost")  # the conversion is written; its answer is lost
    _deliver(db, lambda: _paid(db))
    coupons.answer()
    _converted_once(db, coupons)


def test_a_grant_whose_send_answer_was_lost_is_sent_again_and_issued_once(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    db.fail("outbox.send_batch", "lost")  # the grants went out; the queue's answer did not come back
    _deliver(db, lambda: _paid(db))
    assert len(_grants(coupons)) == 4  # sent twice, same grant ids
    coupons.answer()
    _converted_once(db, coupons)


def test_a_grant_result_whose_answer_was_lost_is_recorded_once(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)
    db.fail("rewards.record_grant_result", "lost")
    with pytest.raises(LostAnswer):
        coupons.answer()
    coupons.read = 0  # the queue redelivers the results (and the coupons service answers the same)
    coupons.answer()
    _converted_once(db, coupons)
    assert len({r.coupon_id for r in db.rewards.values()}) == 2


def test_a_crash_between_recording_the_rewards_and_sending_the_grants_is_repaired_by_the_redelivery(
    db: FakeDb,
) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    db.fail("outbox.send_batch", "crash")
    with pytest.raises(Crash):
        _paid(db)
    assert {r.status for r in db.rewards.values()} == {"pending"} and coupons.messages() == []
    _paid(db)  # the order event is redelivered
    assert len(_grants(coupons)) == 2
    coupons.answer()
    _converted_once(db, coupons)


def test_a_crash_before_the_grants_are_sent_is_repaired_by_the_sweep(db: FakeDb, monkeypatch) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    db.fail("outbox.send_batch", "crash")
    with pytest.raises(Crash):
        _paid(db)  # and the event is never redelivered
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(minutes=3))
    assert rewards.resend_stale_grants(stores=db.stores()) == {"resent": 2, "gave_up": 0}
    coupons.answer()
    _converted_once(db, coupons)
    assert rewards.resend_stale_grants(stores=db.stores()) == {"resent": 0, "gave_up": 0}


def test_the_cap_counts_a_duplicate_conversion_once(db: FakeDb) -> None:
    _program(db, cap=1)
    _signup(db, "bob")
    _signup(db, "carol")
    db.fail("customers.commit", "lost")
    _deliver(db, lambda: _paid(db, "bob", "o1"))
    _paid(db, "bob", "o1")
    _paid(db, "carol", "o2")
    alice = sorted(r.status for r in db.rewards.values() if r.customer_id == "alice")
    assert alice == ["capped", "pending"]
    assert db.referrers[(SHOP, "alice")]["rewards_granted"] == 1


# ---- hold and revoke on refund ------------------------------------------------------------------------


def test_a_full_refund_within_the_hold_cancels_the_rewards_and_nothing_is_sent(
    db: FakeDb, monkeypatch
) -> None:
    _program(db, hold_days=7)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)
    assert {s for s, _ in _statuses(db).values()} == {"held"} and coupons.messages() == []
    _refund(db, "r1", 2000)  # partial: still held
    assert {s for s, _ in _statuses(db).values()} == {"held"}
    for _ in range(2):  # the full refund, delivered twice
        _refund(db, "r2", 4000)
    assert _statuses(db) == {
        "alice": ("cancelled", "converting_order_refunded"),
        "bob": ("cancelled", "converting_order_refunded"),
    }
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=8))
    assert rewards.release_held_rewards(stores=db.stores()) == {"released": 0}
    assert coupons.messages() == []


def test_held_rewards_are_released_once_after_the_window(db: FakeDb, monkeypatch) -> None:
    _program(db, hold_days=7)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=7, minutes=1))
    db.fail("outbox.send_batch", "crash")  # released, then the sweep died before sending
    with pytest.raises(Crash):
        rewards.release_held_rewards(stores=db.stores())
    assert rewards.release_held_rewards(stores=db.stores()) == {"released": 0}  # released once
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=7, minutes=5))
    assert rewards.resend_stale_grants(stores=db.stores()) == {"resent": 2, "gave_up": 0}
    coupons.answer()
    _converted_once(db, coupons)


def test_a_full_refund_after_issue_revokes_each_coupon_once(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)
    coupons.answer()
    bob_grant = next(r.grant_id for r in db.rewards.values() if r.customer_id == "bob")
    coupons.used.add(bob_grant)  # bob already used his coupon
    db.fail("outbox.send", "crash")  # alice's revoke is recorded, then the handler dies
    _deliver(db, lambda: _refund(db, "r1", 6000))
    _refund(db, "r1", 6000)  # a duplicate of the refund event
    revokes = [m for m in coupons.messages() if m["type"] == "coupon.revoke"]
    assert {m["customer_id"] for m in revokes} == {"alice", "bob"}
    coupons.answer()
    assert _statuses(db) == {
        "alice": ("revoked", "converting_order_refunded"),
        "bob": ("revoke_failed", "coupon_used"),
    }
    _refund(db, "r1", 6000)  # answered: nothing more is sent
    assert len([m for m in coupons.messages() if m["type"] == "coupon.revoke"]) == len(revokes)


def test_a_refund_while_the_grant_is_in_flight_revokes_the_coupon_once_issued(db: FakeDb) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)  # grants sent, not answered yet
    _refund(db, "r1", 6000)
    assert {r.status for r in db.rewards.values()} == {"pending"}
    assert {r.revoke_reason for r in db.rewards.values()} == {"converting_order_refunded"}
    coupons.answer()  # issued, then revoked at once
    assert _statuses(db) == {
        "alice": ("revoked", "converting_order_refunded"),
        "bob": ("revoked", "converting_order_refunded"),
    }
    assert coupons.revoked == set(coupons.issued)


def test_an_unanswered_grant_is_given_up_visibly_and_a_late_issue_still_wins(db: FakeDb, monkeypatch) -> None:
    _program(db)
    _signup(db)
    coupons = Coupons(db)
    _paid(db)
    real_now = clock.now
    for step in range(1, rewards.MAX_SENDS):
        monkeypatch.setattr(clock, "now", lambda s=step: real_now() + timedelta(minutes=3 * s))
        assert rewards.resend_stale_grants(stores=db.stores()) == {"resent": 2, "gave_up": 0}
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=1))
    assert rewards.resend_stale_grants(stores=db.stores()) == {"resent": 0, "gave_up": 2}
    assert {v for v in _statuses(db).values()} == {("failed", rewards.NO_ANSWER)}
    coupons.answer()  # the coupons service finally answers every (same) grant
    _converted_once(db, coupons)
