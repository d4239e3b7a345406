"""Gifts (``gift#<shop>#<gift>`` / ``gift``): created ``open``; accepted once, by the first
friend whose conditional write lands; or cancelled by the giver while open."""

from __future__ import annotations

from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import gift_key
from chalicelib.coupons.store.records import Gift
from chalicelib.coupons.store.table import expiry

STATUS = {"#st": "status"}


class DynamoGifts:
    def create(self, shop: str, gift: Gift) -> None:
        items.create(gift_key(shop, gift.gift_id), {**gift.to_item(), "expires_at_epoch": expiry()})

    def get(self, shop: str, gift_id: str) -> Gift | None:
        item = items.get(gift_key(shop, gift_id))
        return Gift.from_item(item) if item else None

    def accept(self, shop: str, gift_id: str, receiver: str, now_iso: str) -> tuple[bool, Gift | None]:
        written = items.update(
            gift_key(shop, gift_id),
            "SET #st = :accepted, receiver = :me, accepted_at = :now",
            "#st = :open AND expires_at > :now",
            names=STATUS,
            values={"accepted": "accepted", "open": "open", "me": receiver, "now": now_iso},
            mine=lambda old: old.get("receiver") == receiver,
            returns="ALL_NEW",
        )
        return written.applied, Gift.from_item(written.item) if written.item else None

    def cancel(self, shop: str, gift_id: str) -> tuple[bool, Gift | None]:
        written = items.update(
            gift_key(shop, gift_id),
            "SET #st = :cancelled",
            "#st = :open",
            names=STATUS,
            values={"cancelled": "cancelled", "open": "open"},
            mine=lambda old: old.get("status") == "cancelled",
            returns="ALL_NEW",
        )
        return written.applied, Gift.from_item(written.item) if written.item else None
