"""Distributors and their balances (``dist#<shop>#<distributor>`` / ``distributor``): the
profile, the five balances, ``version`` and the ``journal`` of groups applied to the
balance whose entries may not be written yet (see ``usecases.posting``); gsi1 ranks them by
earned amount (the leaderboard)."""

from __future__ import annotations

from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution import domain
from chalicelib.distribution.domain.statements import MonthTotals
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import DistributorRecord, JournalGroup


class Distributors:
    def get(self, shop: str, distributor_id: str) -> DistributorRecord | None:
        item = table.get(keys.distributor_key(shop, distributor_id))
        return DistributorRecord.from_item(item) if item else None

    def get_many(self, shop: str, distributor_ids: list[str]) -> list[DistributorRecord]:
        """The distributors of ``distributor_ids`` that exist (one consistent batch read)."""
        wanted = [
            {"pk": keys.dist_pk(shop, d), "sk": keys.DISTRIBUTOR} for d in dict.fromkeys(distributor_ids)
        ]
        return [
            DistributorRecord.from_item(i) for i in paging.batch_get(table.name(), wanted, consistent=True)
        ]

    def create(self, shop: str, record: DistributorRecord) -> bool:
        """Create a distributor; False if it exists."""
        return writes.create(table.name(), record.to_item(shop)).applied

    def set_status(self, shop: str, distributor_id: str, status: str, at: str) -> DistributorRecord | None:
        """Set a distributor's status; None when there is no such distributor."""
        written = writes.update(
            table.name(),
            keys.distributor_key(shop, distributor_id),
            update="SET #s = :s, status_changed_at = :at",
            condition="attribute_exists(pk)",
            names={"#s": "status"},
            values=codec.values(s=status, at=at),
        )
        if not written.applied or written.item is None:
            return None
        return DistributorRecord.from_item(written.item)

    def write_balance(
        self,
        shop: str,
        distributor_id: str,
        *,
        version: int,
        balance: dict[str, int],
        group_id: str,
        journal: JournalGroup,
        status: str | None = None,
        prune: tuple[str, ...] = (),
        months: dict[str, MonthTotals] | None = None,
        months_from: str | None = None,
    ) -> bool:
        """Apply a group to a balance read at ``version``: the new balances and the group in the
        journal, in one write, dropping the finished groups ``prune`` from the journal, with
        the kept month totals (``domain.statements``) when given. False
        when the balance changed since it was read (or, with ``status``, when the
        distributor's status is no longer that one)."""
        sets = [
            "pending = :pending",
            "available = :available",
            "withdrawn = :withdrawn",
            "earned = :earned",
            "reserved = :reserved",
            "gsi1sk = :rank",
            "version = :next",
            "journal.#g = :journal",
        ]
        extra: dict[str, object] = {}
        if months is not None:
            sets += ["months = :months", "months_from = :months_from"]
            extra["months"] = {m: t.to_list() for m, t in months.items()}
            extra["months_from"] = months_from
        condition = "version = :version"
        names = {"#g": group_id}
        names.update({f"#p{i}": gid for i, gid in enumerate(prune)})
        removes = [f"journal.#p{i}" for i in range(len(prune))]
        if status is not None:
            condition += " AND #st = :status"
            names["#st"] = "status"
            extra["status"] = status
        return writes.update(
            table.name(),
            keys.distributor_key(shop, distributor_id),
            update="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            condition=condition,
            names=names,
            values=codec.values(
                rank=domain.rank_key(balance["earned"], distributor_id),
                next=version + 1,
                version=version,
                journal=journal.to_dict(),
                **balance,
                **extra,
            ),
            returns="NONE",
        ).applied

    def finish_group(self, shop: str, distributor_id: str, group_id: str) -> None:
        """Drop a group from the journal once its entries are written and its cause is marked
        done; a no-op when another delivery already did. Balances do not change."""
        writes.update(
            table.name(),
            keys.distributor_key(shop, distributor_id),
            update="REMOVE journal.#g",
            condition="attribute_exists(journal.#g)",
            names={"#g": group_id},
            returns="NONE",
        )

    def board_page(self, shop: str, page: paging.PageParams) -> tuple[list[DistributorRecord], str | None]:
        """Distributors of a shop by earned amount, highest first."""
        items, cursor = paging.query_page(
            table=table.name(),
            index=keys.GSI,
            key_condition="gsi1pk = :p",
            expression_values=codec.values(p=keys.board_pk(shop)),
            page=page,
            forward=False,
        )
        return [DistributorRecord.from_item(i) for i in items], cursor
