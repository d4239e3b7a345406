"""Tags: a member item per (tag, customer), the tag's count (``stats``) and the profile's
``tags`` set, changed together in one transaction (so the count and the profile never disagree
with the members). A member records the bulk-tag job that made it, if any, so a redelivered
chunk recognises its own earlier writes (bulk jobs write members and profiles without a
transaction, and add the count once per chunk: ``TagJobsRepository.chunk_done``)."""

from __future__ import annotations

import uuid
from typing import Any

from campaign_shared.storage import codec, failures, paging, writes
from campaign_shared.storage.keys import unpart
from campaign_shared.storage.paging import PageParams
from chalicelib.audience.store import keys


def keys_plain(key: dict[str, Any]) -> dict[str, Any]:
    return codec.from_item(key) or {}


def _entries(shop: str, tag: str, customer_id: str, add: bool) -> list[dict[str, Any]]:
    main, stats = keys.table("main"), keys.table("stats")
    member_key = keys.tag_member(shop, tag, customer_id)
    if add:
        member: dict[str, Any] = {
            "Put": {
                "TableName": main,
                "Item": {
                    **member_key,
                    **codec.to_item({"customer_id": customer_id, "tag": tag}),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        profile_update = "SET customer_id = :c, o = if_not_exists(o, :empty) ADD tags :t, ver :one"
        profile_values = codec.values(c=customer_id, empty={}, t={tag}, one=1)
    else:
        member = {
            "Delete": {
                "TableName": main,
                "Key": member_key,
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        profile_update = "DELETE tags :t ADD ver :one"
        profile_values = codec.values(t={tag}, one=1)
    return [
        member,
        {
            "Update": {
                "TableName": stats,
                "Key": keys.tag_count(shop, tag),
                "UpdateExpression": "SET #tag = :tag ADD #members :n",
                "ExpressionAttributeNames": {"#tag": "tag", "#members": "members"},
                "ExpressionAttributeValues": codec.values(tag=tag, n=1 if add else -1),
            }
        },
        {
            "Update": {
                "TableName": main,
                "Key": keys.profile(shop, customer_id),
                "UpdateExpression": profile_update,
                "ExpressionAttributeValues": profile_values,
            }
        },
    ]


class TagsRepository:
    def existing(self, shop: str, tag: str, customer_ids: list[str]) -> dict[str, str | None]:
        """The members among ``customer_ids``: customer id -> the job that made it (or None)."""
        found = paging.batch_get(
            keys.table("main"), [keys_plain(keys.tag_member(shop, tag, c)) for c in customer_ids]
        )
        return {i["customer_id"]: i.get("job") for i in found}

    def add_many(self, shop: str, tag: str, customer_ids: list[str], job_id: str) -> None:
        """Tag ``customer_ids`` for a bulk job: the profiles' tag sets (ADD: idempotent), then the
        member items stamped with the job (puts: idempotent). The tag's count is added by the
        job's chunk record, once (``TagJobsRepository.chunk_done``)."""
        main = keys.table("main")
        for customer_id in customer_ids:
            writes.update(
                main,
                keys.profile(shop, customer_id),
                update="SET customer_id = :c, o = if_not_exists(o, :empty) ADD tags :t, ver :one",
                values=codec.values(c=customer_id, empty={}, t={tag}, one=1),
                returns="NONE",
            )
        paging.batch_put(
            main,
            [
                {**keys_plain(keys.tag_member(shop, tag, c)), "customer_id": c, "tag": tag, "job": job_id}
                for c in customer_ids
            ],
        )

    def change(self, shop: str, tag: str, customer_id: str, add: bool) -> bool:
        """Add (remove) the tag; False when the customer already had (did not have) it. The
        fresh token makes a botocore retry of a committed call a no-op, not a refusal."""
        try:
            writes.transact(_entries(shop, tag, customer_id, add), token=str(uuid.uuid4()))
            return True
        except Exception as exc:
            if failures.is_cancelled_transaction(exc) and failures.cancellation_reasons(exc)[:1] == [
                "ConditionalCheckFailed"
            ]:
                return False
            raise

    def counts(self, shop: str, page: PageParams) -> tuple[list[dict[str, Any]], str | None]:
        return paging.query_page(
            table=keys.table("stats"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=keys.tag_counts_pk(shop), z=0),
            filter_expression="#members > :z",
            expression_names={"#members": "members"},
            page=page,
        )

    def members(self, shop: str, tag: str, page: PageParams) -> tuple[list[str], str | None]:
        items, cursor = paging.query_page(
            table=keys.table("main"),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=keys.tag_pk(shop, tag)),
            page=page,
        )
        return [unpart(i["sk"]) for i in items], cursor
