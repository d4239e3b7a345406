"""The shop's program (``main`` table, ``program#{shop}``)."""

from __future__ import annotations

from campaign_shared import aws
from campaign_shared.storage import codec
from chalicelib.referral.store import keys
from chalicelib.referral.store.records import ProgramRecord


class ProgramsRepository:
    def put(self, shop: str, record: ProgramRecord) -> None:
        aws.dynamodb().put_item(TableName=keys.table("main"), Item=codec.to_item(record.to_item(shop)))

    def get(self, shop: str) -> ProgramRecord | None:
        response = aws.dynamodb().get_item(
            TableName=keys.table("main"), Key=keys.program_key(shop), ConsistentRead=True
        )
        item = codec.from_item(response.get("Item"))
        return ProgramRecord.from_item(item) if item is not None else None
