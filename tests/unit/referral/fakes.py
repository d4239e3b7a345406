"""In-memory stand-ins of the referral repositories (``store/ports.py``) and the outbox, with
the same conditions as the DynamoDB ones: a buyer written under the version read, the
referrer's reward cap, the mutual-referral guard, rewards created once, every reward status
change conditional on the status it had.

Faults: ``db.fail(op, "crash")`` makes the next call of ``op`` (``"customers.commit"``,
``"outbox.send_batch"``, ``"rewards.record_grant_result"``...) raise before it does anything;
``db.fail(op, "lost")`` makes it do its work and then raise (its answer was lost)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from chalicelib.referral.domain import VISIT_SHARDS, Buyer, CodeOwner, Counters, Outcome, VisitTally
from chalicelib.referral.store import Stores, keys
from chalicelib.referral.store.records import (
    ChannelRecord,
    CodeRecord,
    CodeStats,
    CouponTemplate,
    CustomerView,
    ProgramRecord,
    ReferrerCounts,
    RewardRecord,
)

T = TypeVar("T")


class Crash(Exception):
    """The process died before the call did anything."""


class LostAnswer(Exception):
    """The call did its work; its answer never arrived."""


@dataclass
class FakeDb:
    codes: dict[tuple[str, str], CodeRecord] = field(default_factory=dict)
    channels: dict[tuple[str, str], ChannelRecord] = field(default_factory=dict)
    programs: dict[str, ProgramRecord] = field(default_factory=dict)
    templates: dict[tuple[str, str], CouponTemplate] = field(default_factory=dict)
    buyers: dict[tuple[str, str], Buyer] = field(default_factory=dict)
    own_codes: dict[tuple[str, str], str] = field(default_factory=dict)
    referrers: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    rewards: dict[tuple[str, str, str], RewardRecord] = field(default_factory=dict)
    stats: dict[tuple[str, str], Counters] = field(default_factory=dict)
    visits: dict[tuple[str, str, int], VisitTally] = field(default_factory=dict)
    visitors: set[tuple[str, str, str]] = field(default_factory=set)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def fail(self, op: str, mode: str) -> None:
        assert mode in ("crash", "lost")
        self.faults[op] = mode

    def run(self, op: str, work: Callable[[], T]) -> T:
        self.calls[op] = self.calls.get(op, 0) + 1
        mode = self.faults.pop(op, None)
        if mode == "crash":
            raise Crash(op)
        result = work()
        if mode == "lost":
            raise LostAnswer(op)
        return result

    def stores(self) -> Stores:
        return Stores(
            codes=FakeCodes(self),
            channels=FakeChannels(self),
            programs=FakePrograms(self),
            templates=FakeTemplates(self),
            customers=FakeCustomers(self),
            rewards=FakeRewards(self),
            funnel=FakeFunnel(self),
            outbox=FakeOutbox(self),
        )


@dataclass
class _Repo:
    db: FakeDb


class FakeCodes(_Repo):
    def get(self, shop: str, code: str) -> CodeOwner | None:
        found = self.db.codes.get((shop, code))
        return found.owner if found else None

    def create(self, record: CodeRecord) -> bool:
        def work() -> bool:
            k = (record.owner.shop, record.owner.code)
            if k in self.db.codes:
                return self.db.codes[k] == record  # its own earlier write
            self.db.codes[k] = record
            return True

        return self.db.run("codes.create", work)

    def delete(self, shop: str, code: str) -> None:
        self.db.codes.pop((shop, code), None)

    def page(self, shop: str, page: Any, prefix: str | None) -> tuple[list[CodeRecord], str | None]:
        found = sorted((r for (s, c), r in self.db.codes.items() if s == shop), key=lambda r: r.owner.code)
        return [r for r in found if prefix is None or r.owner.code.startswith(prefix)][: page.limit], None


class FakeChannels(_Repo):
    def create(self, record: ChannelRecord) -> None:
        self.db.run(
            "channels.create", lambda: self.db.channels.setdefault((record.shop, record.channel_id), record)
        )

    def get(self, shop: str, channel_id: str) -> ChannelRecord | None:
        return self.db.channels.get((shop, channel_id))


class FakePrograms(_Repo):
    def put(self, shop: str, record: ProgramRecord) -> None:
        self.db.programs[shop] = record

    def get(self, shop: str) -> ProgramRecord | None:
        return self.db.programs.get(shop)


class FakeTemplates(_Repo):
    def get(self, shop: str, template_id: str) -> CouponTemplate | None:
        return self.db.templates.get((shop, template_id))


class FakeCustomers(_Repo):
    def get_buyer(self, shop: str, customer_id: str) -> Buyer:
        return self.db.buyers.get((shop, customer_id)) or Buyer(customer_id=customer_id)

    def get_own_code(self, shop: str, customer_id: str) -> str | None:
        return self.db.own_codes.get((shop, customer_id))

    def put_own_code(self, shop: str, customer_id: str, code: str, created_at: str) -> bool:
        return self.db.own_codes.setdefault((shop, customer_id), code) == code

    def rewards_granted(self, shop: str, customer_id: str) -> int:
        return self.db.referrers.get((shop, customer_id), {}).get("rewards_granted", 0)

    def view(self, shop: str, customer_id: str) -> CustomerView:
        counts = self.db.referrers.get((shop, customer_id), {})
        return CustomerView(
            own_code=self.db.own_codes.get((shop, customer_id)),
            buyer=self.db.buyers.get((shop, customer_id)),
            counts=ReferrerCounts(**counts),
            rewards=tuple(r for (s, c, _), r in self.db.rewards.items() if (s, c) == (shop, customer_id)),
        )

    def commit(self, shop: str, outcome: Outcome, now: str) -> bool:
        return self.db.run("customers.commit", lambda: self._commit(shop, outcome, now))

    def _commit(self, shop: str, outcome: Outcome, now: str) -> bool:
        db, before, after = self.db, outcome.before, outcome.after
        stored = db.buyers.get((shop, after.customer_id))
        if (stored.version if stored else 0) != before.version:
            return False
        referrer = (shop, outcome.credit_referrer or "")
        counts = dict(db.referrers.get(referrer, {}))
        cap = outcome.referrer_reward_cap
        if outcome.credit_referrer and "rewards_granted" in outcome.referrer_increments and cap is not None:
            if counts.get("rewards_granted", 0) >= cap:
                return False
        if outcome.not_referred_by is not None:
            owner, customer = outcome.not_referred_by
            owner_state = db.buyers.get((shop, owner))
            if (
                owner_state
                and owner_state.referrer_kind == "customer"
                and owner_state.referrer_id == customer
            ):
                return False
        new_rewards = [
            RewardRecord.new(shop, plan, after.customer_id, after.conversion_order_id or "", now)
            for plan in outcome.rewards
        ]
        if any((shop, r.customer_id, r.grant_id) in db.rewards for r in new_rewards):
            return False
        # every condition holds: apply all of it
        db.buyers[(shop, after.customer_id)] = replace(after, version=before.version + 1)
        for code, delta in outcome.deltas.items():
            db.stats[(shop, code)] = db.stats.get((shop, code), Counters()) + delta
        if outcome.credit_referrer and outcome.referrer_increments:
            for name, n in outcome.referrer_increments.items():
                counts[name] = counts.get(name, 0) + n
            db.referrers[referrer] = counts
        for reward in new_rewards:
            db.rewards[(shop, reward.customer_id, reward.grant_id)] = reward
        return True


ISSUABLE = ("pending", "failed")


class FakeRewards(_Repo):
    def get(self, shop: str, customer_id: str, grant_id: str) -> RewardRecord | None:
        return self.db.rewards.get((shop, customer_id, grant_id))

    def _move(
        self,
        op: str,
        k: tuple[str, str, str],
        expected: Iterable[str],
        change: Callable[[RewardRecord], RewardRecord],
    ) -> tuple[str, RewardRecord | None]:
        def work() -> tuple[str, RewardRecord | None]:
            found = self.db.rewards.get(k)
            if found is None:
                return "unknown", None
            if found.status not in expected:
                return "unchanged", None
            self.db.rewards[k] = change(found)
            return "recorded", self.db.rewards[k]

        return self.db.run(op, work)

    def _key(self, reward: RewardRecord) -> tuple[str, str, str]:
        return (reward.shop, reward.customer_id, reward.grant_id)

    def record_grant_result(
        self,
        shop: str,
        customer_id: str,
        grant_id: str,
        status: str,
        coupon_id: str | None,
        reason: str | None,
        now: str,
    ) -> tuple[Any, RewardRecord | None]:
        k = (shop, customer_id, grant_id)
        if status == "issued":
            return self._move(
                "rewards.record_grant_result",
                k,
                ISSUABLE,
                lambda r: _out(
                    r, status="issued", coupon_id=coupon_id or r.coupon_id, reason=None, updated_at=now
                ),
            )
        return self._move(
            "rewards.record_grant_result",
            k,
            ("pending",),
            lambda r: _out(r, status="failed", reason=reason or "failed", updated_at=now),
        )

    def record_revoke_result(
        self, shop: str, customer_id: str, grant_id: str, status: str, reason: str | None, now: str
    ) -> Any:
        why = None if status == "revoked" else reason or "failed"

        def change(r: RewardRecord) -> RewardRecord:
            return _out(r, status=status, reason=why if why else r.reason, updated_at=now)

        return self._move(
            "rewards.record_revoke_result", (shop, customer_id, grant_id), ("revoking",), change
        )[0]

    def cancel_held(self, reward: RewardRecord, reason: str, now: str) -> bool:
        change = lambda r: _out(r, status="cancelled", reason=reason, updated_at=now)  # noqa: E731
        return self._move("rewards.cancel_held", self._key(reward), ("held",), change)[0] == "recorded"

    def want_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool:
        change = lambda r: replace(r, revoke_reason=reason, updated_at=now)  # noqa: E731
        return self._move("rewards.want_revoke", self._key(reward), ("pending",), change)[0] == "recorded"

    def start_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool:
        def change(r: RewardRecord) -> RewardRecord:
            return _pending(replace(r, status="revoking", reason=reason, revoke_reason=reason, sends=1), now)

        return self._move("rewards.start_revoke", self._key(reward), ("issued",), change)[0] == "recorded"

    def release_held(self, reward: RewardRecord, now: str) -> bool:
        change = lambda r: _pending(replace(r, status="pending", sends=1), now)  # noqa: E731
        return self._move("rewards.release_held", self._key(reward), ("held",), change)[0] == "recorded"

    def mark_resent(self, reward: RewardRecord, now: str) -> None:
        change = lambda r: _pending(replace(r, sends=r.sends + 1), now)  # noqa: E731
        self._move("rewards.mark_resent", self._key(reward), (reward.status,), change)

    def mark_unanswered(self, reward: RewardRecord, reason: str, now: str) -> None:
        final = "revoke_failed" if reward.status == "revoking" else "failed"
        change = lambda r: _out(r, status=final, reason=reason, updated_at=now)  # noqa: E731
        self._move("rewards.mark_unanswered", self._key(reward), (reward.status,), change)

    def _index(self, partition: str, below: str, limit: int) -> list[RewardRecord]:
        found = [
            r
            for r in self.db.rewards.values()
            if r.index_partition == partition and (r.index_sort or "") < below
        ]
        return sorted(found, key=lambda r: r.index_sort or "")[:limit]

    def stale(self, sent_before: str, limit: int) -> list[RewardRecord]:
        return self._index(keys.PENDING_INDEX_KEY, sent_before, limit)

    def held_due(self, now: str, limit: int) -> list[RewardRecord]:
        return self._index(keys.HELD_INDEX_KEY, keys.due_before(now), limit)


def _out(reward: RewardRecord, **changes: Any) -> RewardRecord:
    """A status change that takes the reward out of the index (answered, cancelled, given up)."""
    return replace(reward, index_partition=None, index_sort=None, **changes)


def _pending(reward: RewardRecord, now: str) -> RewardRecord:
    """In the index of grants and revokes waiting for an answer, by last send time."""
    return replace(
        reward,
        updated_at=now,
        index_partition=keys.PENDING_INDEX_KEY,
        index_sort=keys.pending_sort(now, reward.grant_id),
    )


class FakeFunnel(_Repo):
    def record_visit(self, shop: str, code: str, visitor_id: str, now: str) -> bool:
        new = (shop, code, visitor_id) not in self.db.visitors
        self.db.visitors.add((shop, code, visitor_id))
        shard = (shop, code, 0)
        was = self.db.visits.get(shard, VisitTally())
        self.db.visits[shard] = VisitTally(was.visits + 1, was.unique_visitors + int(new))
        return new

    def add_refusal(self, shop: str, code: str, reason: str) -> None:
        was = self.db.stats.get((shop, code), Counters())
        self.db.stats[(shop, code)] = was + Counters(**{f"refused_{reason}": 1})

    def stats_for(self, shop: str, codes: Iterable[str]) -> dict[str, CodeStats]:
        return {
            code: CodeStats(
                self.db.stats.get((shop, code), Counters()),
                tuple(
                    self.db.visits[(shop, code, n)]
                    for n in range(VISIT_SHARDS)
                    if (shop, code, n) in self.db.visits
                ),
            )
            for code in codes
        }


class FakeOutbox(_Repo):
    def send(self, service: str, message: dict[str, Any]) -> None:
        self.db.run("outbox.send", lambda: self.db.sent.append((service, message)))

    def send_batch(self, service: str, messages: list[dict[str, Any]]) -> None:
        self.db.run("outbox.send_batch", lambda: self.db.sent.extend((service, m) for m in messages))
