"""Bulk-tag jobs: the job item (``main``) with its progress counters, and one done marker per
chunk written with the chunk's counts in one transaction (a redelivered chunk counts once)."""

from __future__ import annotations

import hashlib
from typing import Any

from campaign_shared.storage import codec, failures, reads, writes
from chalicelib.audience.store import keys


class TagJobsRepository:
    def create(self, shop: str, job_id: str, tag: str, total: int, chunks: int, created_at: str) -> None:
        writes.create(
            keys.table("main"),
            {
                **(codec.from_item(keys.tag_job(shop, job_id)) or {}),
                "job_id": job_id,
                "tag": tag,
                "total": total,
                "chunks": chunks,
                "done_chunks": 0,
                "tagged": 0,
                "already_tagged": 0,
                "created_at": created_at,
            },
        )

    def get(self, shop: str, job_id: str) -> dict[str, Any] | None:
        return reads.get(keys.table("main"), keys.tag_job(shop, job_id))

    def chunk_done(self, shop: str, job_id: str, n: int, tag: str, tagged: int, already: int) -> bool:
        """Record chunk ``n``'s counts and add its new members to the tag's count, once; False
        when it was recorded already."""
        main = keys.table("main")
        try:
            writes.transact(
                [
                    {
                        "Put": {
                            "TableName": main,
                            "Item": {
                                **keys.tag_job_chunk(shop, job_id, n),
                                **codec.to_item({"tagged": tagged}),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": main,
                            "Key": keys.tag_job(shop, job_id),
                            "UpdateExpression": "ADD done_chunks :one, tagged :t, already_tagged :a",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": codec.values(one=1, t=tagged, a=already),
                        }
                    },
                    {
                        "Update": {
                            "TableName": keys.table("stats"),
                            "Key": keys.tag_count(shop, tag),
                            "UpdateExpression": "SET #tag = :tag ADD #members :n",
                            "ExpressionAttributeNames": {"#tag": "tag", "#members": "members"},
                            "ExpressionAttributeValues": codec.values(tag=tag, n=tagged),
                        }
                    },
                ],
                token=hashlib.sha256(
                    f"{shop}\x1f{job_id}\x1f{n}\x1f{tagged}\x1f{already}".encode()
                ).hexdigest()[:36],
            )
            return True
        except Exception as exc:
            if failures.is_cancelled_transaction(exc) and failures.cancellation_reasons(exc)[:1] == [
                "ConditionalCheckFailed"
            ]:
                return False
            raise
