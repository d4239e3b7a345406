"""In-memory stand-ins of the audience repositories (``store/ports.py``) with the same
conditions as the DynamoDB ones: a profile written only under the version read, together with
its counter changes, all or nothing.

Faults: ``db.fail(op, "crash")`` makes the next call of ``op`` (``"profiles.save"``) raise
before it does anything; ``db.fail(op, "lost")`` makes it do its work and then raise (its
answer was lost)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from chalicelib.audience.domain.automations import LiftCell
from chalicelib.audience.domain.counters import Cohort
from chalicelib.audience.store import keys
from chalicelib.audience.store.ports import CounterChanges
from chalicelib.audience.store.records import StoredProfile
from chalicelib.audience.usecases.common import Stores

T = TypeVar("T")


class Crash(Exception):
    """The process died before the call did anything."""


class LostAnswer(Exception):
    """The call did its work; its answer never arrived."""


@dataclass
class FakeDb:
    profiles: dict[tuple[str, str], StoredProfile] = field(default_factory=dict)
    counters: dict[tuple[str, Cohort | LiftCell], dict[str, int]] = field(default_factory=dict)
    rules: dict[str, list[dict]] = field(default_factory=dict)
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
        return Stores(profiles=FakeProfiles(self), counters=FakeCounters(self), rules=FakeRules(self))


@dataclass
class FakeProfiles:
    db: FakeDb

    def get(self, shop: str, customer_id: str) -> StoredProfile | None:
        return self.db.profiles.get((shop, customer_id))

    def save(self, shop: str, new: StoredProfile, expected_version: int, changes: CounterChanges) -> bool:
        def work() -> bool:
            current = self.db.profiles.get((shop, new.customer_id))
            if (current.version if current else 0) != expected_version:
                return False
            self.db.profiles[(shop, new.customer_id)] = new
            for cohort, change in changes.items():
                sums = self.db.counters.setdefault((shop, cohort), {})
                for name, value in change.items():
                    sums[name] = sums.get(name, 0) + value
            return True

        return self.db.run("profiles.save", work)

    def shard_page(
        self, shop: str, shard: int, start: dict | None, limit: int
    ) -> tuple[list[StoredProfile], dict | None]:
        ids = sorted(c for (s, c) in self.db.profiles if s == shop and keys.profile_shard(c) == shard)
        after = (start or {}).get("customer_id")
        ids = [c for c in ids if after is None or c > after]
        page = ids[:limit]
        more = len(ids) > limit
        return [self.db.profiles[(shop, c)] for c in page], ({"customer_id": page[-1]} if more else None)


@dataclass
class FakeCounters:
    db: FakeDb

    def read(self, shop: str, first_day: str, last_day: str) -> Iterator[tuple[Cohort, dict[str, int]]]:
        cohorts = [(s, c, sums) for (s, c), sums in self.db.counters.items() if isinstance(c, Cohort)]
        for s, cohort, sums in sorted(cohorts, key=lambda t: (t[1].day, t[1].combo)):
            if s == shop and first_day <= cohort.day <= last_day:
                yield cohort, dict(sums)

    def read_lift(
        self, shop: str, rule_id: str, first_day: str, last_day: str
    ) -> Iterator[tuple[str, dict[str, int]]]:
        for (s, cell), sums in self.db.counters.items():
            if isinstance(cell, LiftCell) and s == shop and cell.rule_id == rule_id:
                if first_day <= cell.day <= last_day:
                    yield cell.arm, dict(sums)


@dataclass
class FakeRules:
    db: FakeDb

    def for_shop(self, shop: str) -> list[dict]:
        return list(self.db.rules.get(shop, []))
