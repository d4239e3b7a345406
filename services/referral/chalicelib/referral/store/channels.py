"""Channels (``main`` table, ``channel#{shop}#{channel_id}``)."""

from __future__ import annotations

from campaign_shared import aws
from campaign_shared.storage import codec, writes
from chalicelib.referral.store import keys
from chalicelib.referral.store.records import ChannelRecord


class ChannelsRepository:
    def create(self, record: ChannelRecord) -> None:
        # The channel id is new for this request: "exists" means an earlier attempt of this same
        # write committed and its answer was lost (a retry after a dropped connection): done.
        writes.create(keys.table("main"), record.to_item())

    def get(self, shop: str, channel_id: str) -> ChannelRecord | None:
        response = aws.dynamodb().get_item(
            TableName=keys.table("main"), Key=keys.channel_key(shop, channel_id)
        )
        item = codec.from_item(response.get("Item"))
        return ChannelRecord.from_item(shop, item) if item is not None else None
