"""Levels: the shop's ladder (``shop#<shop>`` / ``levels``), a distributor's current level
(``level_id``, ``level_since``, ``level_seq`` and ``level_log`` on the distributor item) and
their history (``dist#<shop>#<distributor>`` / ``lvl#<at>#<seq>``).

A change is written in three single-item steps (``usecases.levels``): the distributor item
(conditional on the ``level_seq`` read, with the change in ``level_log``), the history item
(absent-conditional: a business key), then ``level_log`` removed. A crash between leaves the
change in ``level_log``; the next evaluation copies it to the history and removes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution.domain.levels import Level
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import DistributorRecord


@dataclass(frozen=True)
class LevelsRecord:
    levels: tuple[Level, ...]
    updated_at: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LevelsRecord:
        names = Level.__dataclass_fields__
        return cls(
            levels=tuple(
                Level(**{k: v for k, v in d.items() if k in names}) for d in item.get("levels") or []
            ),
            updated_at=item.get("updated_at"),
        )

    def to_item(self, shop: str) -> dict[str, Any]:
        levels = [{k: v for k, v in asdict(level).items() if v is not None} for level in self.levels]
        return {"pk": keys.shop_pk(shop), "sk": keys.LEVELS, "levels": levels, "updated_at": self.updated_at}


@dataclass(frozen=True)
class LevelChange:
    """One move of a distributor between levels (``None``: the base), with the metrics that
    decided it and the window they cover."""

    distributor_id: str
    seq: int
    at: str
    from_level: str | None
    to_level: str | None
    metrics: dict[str, int] = field(default_factory=dict)
    window_start: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelChange:
        return cls(
            distributor_id=str(data["distributor_id"]),
            seq=int(data["seq"]),
            at=str(data["at"]),
            from_level=data.get("from_level"),
            to_level=data.get("to_level"),
            metrics={k: int(v) for k, v in (data.get("metrics") or {}).items()},
            window_start=data.get("window_start"),
        )


class Levels:
    def get_ladder(self, shop: str) -> LevelsRecord | None:
        item = table.get(keys.levels_key(shop))
        return LevelsRecord.from_item(item) if item else None

    def put_ladder(self, shop: str, record: LevelsRecord) -> None:
        aws.dynamodb().put_item(TableName=table.name(), Item=codec.to_item(record.to_item(shop)))

    def set_level(self, shop: str, change: LevelChange) -> bool:
        """Make ``change`` the distributor's current level, with the change in ``level_log``, if
        their ``level_seq`` is still ``change.seq - 1``. False otherwise (another run moved them,
        or there is no such distributor). Balances and ``version`` are not touched."""
        condition = "attribute_exists(pk) AND (level_seq = :prev"
        condition += " OR attribute_not_exists(level_seq))" if change.seq == 1 else ")"
        return writes.update(
            table.name(),
            keys.distributor_key(shop, change.distributor_id),
            update="SET level_seq = :seq, level_since = :at, level_log = :log"
            + (", level_id = :to" if change.to_level is not None else " REMOVE level_id"),
            condition=condition,
            values=codec.values(
                seq=change.seq,
                at=change.at,
                log=change.to_dict(),
                prev=change.seq - 1,
                **({"to": change.to_level} if change.to_level is not None else {}),
            ),
            returns="NONE",
        ).applied

    def log_change(self, shop: str, change: LevelChange) -> None:
        """Copy a change to the history (once: its key is a business key), then clear it from
        the distributor's ``level_log``."""
        item = {
            "pk": keys.dist_pk(shop, change.distributor_id),
            "sk": keys.level_change_sk(change.at, change.seq),
            **change.to_dict(),
        }
        writes.create(table.name(), item)
        writes.update(
            table.name(),
            keys.distributor_key(shop, change.distributor_id),
            update="REMOVE level_log",
            condition="level_log.seq = :seq",
            values=codec.values(seq=change.seq),
            returns="NONE",
        )

    def history(self, shop: str, distributor_id: str, limit: int) -> list[LevelChange]:
        """The distributor's latest changes, newest first."""
        items, _ = paging.query_page(
            table=table.name(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(
                pk=keys.dist_pk(shop, distributor_id), prefix=keys.LEVEL_CHANGE_PREFIX
            ),
            page=paging.PageParams(limit=limit),
            forward=False,
            consistent=True,
        )
        return [LevelChange.from_dict(item) for item in items]

    def change_at(self, shop: str, distributor_id: str, at: str) -> LevelChange | None:
        """The latest change at or before ``at`` (what was in force then); one Query of one item."""
        response = aws.dynamodb().query(
            TableName=table.name(),
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=codec.values(
                pk=keys.dist_pk(shop, distributor_id),
                lo=keys.LEVEL_CHANGE_PREFIX,
                hi=f"{keys.LEVEL_CHANGE_PREFIX}{at}~",
            ),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return LevelChange.from_dict(codec.from_item(items[0]) or {}) if items else None

    def distributors(self, shop: str) -> list[DistributorRecord]:
        """Every distributor of the shop (the leaderboard index, pages of 1,000)."""
        items = paging.query_all(
            table=table.name(),
            index=keys.GSI,
            key_condition="gsi1pk = :p",
            expression_values=codec.values(p=keys.board_pk(shop)),
            page_size=1000,
        )
        return [DistributorRecord.from_item(item) for item in items]
