"""Segments: the definition item (with its evaluation runs' progress), the materialized member
snapshots of each run, their pages' done markers, and the exports pinned to a snapshot.

A run evaluates the shop's profiles shard by shard, page by page (jobs on the queue). A page
writes its members (puts: idempotent), then its done marker with its member count and the key
the shard continues from (created once). A page already marked is never evaluated again, so
once every page of a run is marked its snapshot no longer changes. When the last shard ends,
the run becomes the segment's ``ready`` snapshot with the size its markers add up to: preview
and exports read only ready snapshots.
"""

from __future__ import annotations

from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, paging, reads, writes
from campaign_shared.storage.keys import join, key, unpart
from chalicelib.audience.store import keys


def _plain(k: dict[str, Any]) -> dict[str, Any]:
    return codec.from_item(k) or {}


def _page_marker(shop: str, segment_id: str, run: str, shard: int, page: int) -> dict[str, Any]:
    return key(join("segrun", shop, segment_id, run), f"shard#{shard:03d}#page#{page:06d}")


class SegmentsRepository:
    def create(self, shop: str, item: dict[str, Any]) -> None:
        """The definition, then its entry in the list of every segment (puts of a fresh id)."""
        writes.create(keys.table("main"), {**_plain(keys.segment(shop, item["segment_id"])), **item})
        writes.create(
            keys.table("main"),
            {
                **_plain(keys.segment_in_all(shop, item["segment_id"])),
                "shop": shop,
                "segment_id": item["segment_id"],
            },
        )

    def everywhere(self) -> list[tuple[str, str]]:
        return [
            (i["shop"], i["segment_id"])
            for i in paging.query_all(
                table=keys.table("main"),
                key_condition="pk = :pk",
                expression_values=codec.values(pk=keys.ALL_SEGMENTS_PK),
            )
        ]

    def get(self, shop: str, segment_id: str) -> dict[str, Any] | None:
        return reads.get(keys.table("main"), keys.segment(shop, segment_id))

    def page(self, shop: str, page: paging.PageParams) -> tuple[list[dict[str, Any]], str | None]:
        return paging.query_page(
            table=keys.table("main"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=keys.segments_pk(shop)),
            page=page,
        )

    def start_run(self, shop: str, segment_id: str, run: str, as_of: int) -> bool:
        """Make ``run`` the segment's evaluating run (its size and shards from zero)."""
        written = writes.update(
            keys.table("main"),
            keys.segment(shop, segment_id),
            update="SET run_id = :r, run_as_of = :a",
            condition="attribute_exists(pk)",
            values=codec.values(r=run, a=as_of),
            returns="NONE",
        )
        return written.applied

    def page_marker(
        self, shop: str, segment_id: str, run: str, shard: int, page: int
    ) -> dict[str, Any] | None:
        """The page's done marker (``n`` members, ``next`` start key or absent), or None."""
        return reads.get(keys.table("main"), _page_marker(shop, segment_id, run, shard, page))

    def write_members(self, shop: str, segment_id: str, run: str, customer_ids: list[str]) -> None:
        paging.batch_put(
            keys.table("main"),
            [{**_plain(keys.member(shop, segment_id, run, c)), "customer_id": c} for c in customer_ids],
        )

    def finish_page(
        self, shop: str, segment_id: str, run: str, shard: int, page: int, count: int, next_start: dict | None
    ) -> bool:
        """Mark the page done with its member count and where the shard goes on (``next``; absent
        on a shard's last page), once; False when it was marked already."""
        marker = {
            **_plain(_page_marker(shop, segment_id, run, shard, page)),
            "n": count,
            "shard": shard,
            "next": next_start,
        }
        return writes.create(keys.table("main"), marker).applied

    def run_progress(self, shop: str, segment_id: str, run: str) -> tuple[int, int]:
        """(shards finished, members counted) of a run, from its page markers (one small
        item collection: a page per ``PAGE_SIZE`` profiles)."""
        done, size = set(), 0
        for item in paging.query_all(
            table=keys.table("main"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=join("segrun", shop, segment_id, run)),
            consistent=True,
        ):
            size += int(item.get("n", 0))
            if not item.get("next"):
                done.add(int(item["shard"]))
        return len(done), size

    def promote(self, shop: str, segment_id: str, run: str, size: int) -> bool:
        """Make the finished run the ready snapshot (idempotent; only while it is the current run)."""
        written = writes.update(
            keys.table("main"),
            keys.segment(shop, segment_id),
            update="SET ready_run = run_id, ready_size = :n, ready_as_of = run_as_of",
            condition="run_id = :r",
            values=codec.values(r=run, n=size),
            mine=lambda old: old.get("ready_run") == run,
            returns="NONE",
        )
        return written.applied

    def sample(self, shop: str, segment_id: str, run: str, limit: int) -> list[str]:
        response = aws.dynamodb().query(
            TableName=keys.table("main"),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=codec.values(pk=keys.members_pk(shop, segment_id, run)),
            Limit=limit,
        )
        return [unpart((codec.from_item(i) or {})["sk"]) for i in response.get("Items", [])]

    def count_members(self, shop: str, segment_id: str, run: str) -> int:
        params: dict[str, Any] = {
            "TableName": keys.table("main"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": codec.values(pk=keys.members_pk(shop, segment_id, run)),
            "Select": "COUNT",
        }
        total = 0
        while True:
            response = aws.dynamodb().query(**params)
            total += int(response.get("Count", 0))
            if not response.get("LastEvaluatedKey"):
                return total
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def member_page(
        self, shop: str, segment_id: str, run: str, start: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Up to ``limit`` members in key order after the member sort key ``start``."""
        params: dict[str, Any] = {
            "TableName": keys.table("main"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": codec.values(pk=keys.members_pk(shop, segment_id, run)),
            "Limit": limit,
        }
        if start is not None:
            params["ExclusiveStartKey"] = codec.to_item(
                {"pk": keys.members_pk(shop, segment_id, run), "sk": start}
            )
        ids: list[str] = []
        last_sk: str | None = None
        while len(ids) < limit:
            response = aws.dynamodb().query(**params)
            for item in response.get("Items", []):
                sk = (codec.from_item(item) or {})["sk"]
                ids.append(unpart(sk))
                last_sk = sk
            if not response.get("LastEvaluatedKey"):
                return ids, None
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            params["Limit"] = limit - len(ids)
        return ids, last_sk

    # ---- exports ----------------------------------------------------------------------

    def pin_export(self, shop: str, job_id: str, segment_id: str, run: str, total: int) -> dict[str, Any]:
        """The export of ``job_id``: pinned now to ``run`` and ``total``, or as first pinned."""
        item = {**_plain(keys.export(shop, job_id)), "segment_id": segment_id, "run": run, "total": total}
        written = writes.create(keys.table("main"), item)
        return item if written.applied else (written.item or item)
