"""Withdrawal receipts (``dist#...`` / ``wd#<withdrawal_id>``): what a retry of a withdrawal
with the same Idempotency-Key finds."""

from __future__ import annotations

from campaign_shared.storage import writes
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import WithdrawalReceipt


class Withdrawals:
    def get(self, shop: str, distributor_id: str, withdrawal_id: str) -> WithdrawalReceipt | None:
        item = table.get(keys.withdrawal_key(shop, distributor_id, withdrawal_id))
        return WithdrawalReceipt.from_item(item) if item else None

    def put(self, shop: str, distributor_id: str, receipt: WithdrawalReceipt) -> None:
        """Record a withdrawal's receipt once (the first one written stays)."""
        writes.create(table.name(), receipt.to_item(shop, distributor_id))
