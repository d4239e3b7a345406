"""In-memory repositories of levels (the ladder, a distributor's level on their record, the
history) and of the ledger reads by time range, with the same conditions as
``store.levels`` and ``store.activity``. ``fakes.fake_stores`` wires them in."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.distribution.domain import Entry
from chalicelib.distribution.store.levels import LevelChange, LevelsRecord
from chalicelib.distribution.store.records import DistributorRecord

if TYPE_CHECKING:
    from .fakes import FakeDistributors, FakeLedger


class FakeLevels:
    """The ladder, and a distributor's level on their record (``FakeDistributors``), with the
    same conditions as ``store.levels``; the history as a list per distributor."""

    def __init__(self, distributors: FakeDistributors) -> None:
        self.records = distributors
        self.ladders: dict[str, LevelsRecord] = {}
        self.changes: dict[tuple[str, str], dict[int, LevelChange]] = {}

    def get_ladder(self, shop: str) -> LevelsRecord | None:
        return self.ladders.get(shop)

    def put_ladder(self, shop: str, record: LevelsRecord) -> None:
        self.ladders[shop] = record

    def set_level(self, shop: str, change: LevelChange) -> bool:
        found = self.records.items.get((shop, change.distributor_id))
        if found is None or found.level_seq != change.seq - 1:
            return False
        self.records.items[(shop, change.distributor_id)] = replace(
            found,
            level_id=change.to_level,
            level_since=change.at,
            level_seq=change.seq,
            level_log=change.to_dict(),
        )
        return True

    def log_change(self, shop: str, change: LevelChange) -> None:
        self.changes.setdefault((shop, change.distributor_id), {}).setdefault(change.seq, change)
        found = self.records.items.get((shop, change.distributor_id))
        if found is not None and found.level_log and found.level_log.get("seq") == change.seq:
            self.records.items[(shop, change.distributor_id)] = replace(found, level_log=None)

    def _sorted(self, shop: str, distributor_id: str) -> list[LevelChange]:
        mine = self.changes.get((shop, distributor_id), {}).values()
        return sorted(mine, key=lambda c: (c.at, c.seq))

    def history(self, shop: str, distributor_id: str, limit: int) -> list[LevelChange]:
        return list(reversed(self._sorted(shop, distributor_id)))[:limit]

    def change_at(self, shop: str, distributor_id: str, at: str) -> LevelChange | None:
        before = [c for c in self._sorted(shop, distributor_id) if c.at <= at]
        return before[-1] if before else None

    def distributors(self, shop: str) -> list[DistributorRecord]:
        return [r for (s, _), r in sorted(self.records.items.items()) if s == shop]


class FakeActivity:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def entries_between(self, shop: str, distributor_id: str, start: str | None, end: str) -> list[Entry]:
        return [e for e in self.ledger.all_entries(shop, distributor_id) if (start or "") <= e.at < end]
