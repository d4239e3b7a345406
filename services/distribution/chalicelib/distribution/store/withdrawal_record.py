"""The stored withdrawal (``dist#<shop>#<distributor>`` / ``wd#<withdrawal_id>``): what the
request answered (what a retry with the same Idempotency-Key finds) and, since the workflow,
its review: status, payout method, masked account reference, reason, payout reference, the
times of its transitions, and ``posting``, the mark of its release or payout group.

Withdrawals under review are on gsi1 (``wdq#<shop>#<status>`` / ``<created_at>#<distributor>#
<withdrawal>``), the merchant's queue by status and date. Withdrawals made before the workflow
(``completed``) carry none of the new fields and are not on the index.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.store import keys
from chalicelib.distribution.store.marks import Mark, mark_from_dict


def compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def opt_str(value: Any) -> str | None:
    """A stored optional text field (``None`` stays ``None``)."""
    return None if value is None else str(value)


@dataclass(frozen=True)
class WithdrawalReceipt:
    """A withdrawal: its request and its review."""

    withdrawal_id: str
    amount: int
    status: str
    currency: str
    created_at: str
    available_amount: int | None = None
    distributor_id: str | None = None
    method: str | None = None
    account_masked: str | None = None
    reason: str | None = None
    payout_reference: str | None = None
    reviewed_at: str | None = None
    paid_at: str | None = None
    failed_at: str | None = None
    updated_at: str | None = None
    posting: Mark | None = None

    @classmethod
    def from_item(cls, data: dict[str, Any]) -> WithdrawalReceipt:
        available = data.get("available_amount")
        posting = data.get("posting")
        return cls(
            withdrawal_id=str(data["withdrawal_id"]),
            amount=int(data["amount"]),
            status=str(data.get("status", flow.COMPLETED)),
            currency=str(data.get("currency", "CNY")),
            created_at=str(data["created_at"]),
            available_amount=None if available is None else int(available),
            distributor_id=opt_str(data.get("distributor_id")),
            method=opt_str(data.get("method")),
            account_masked=opt_str(data.get("account_masked")),
            reason=opt_str(data.get("reason")),
            payout_reference=opt_str(data.get("payout_reference")),
            reviewed_at=opt_str(data.get("reviewed_at")),
            paid_at=opt_str(data.get("paid_at")),
            failed_at=opt_str(data.get("failed_at")),
            updated_at=opt_str(data.get("updated_at")),
            posting=mark_from_dict(posting) if isinstance(posting, dict) else None,
        )

    def money_at(self) -> str | None:
        """When the release or payout took effect (its entry's time)."""
        if self.status == flow.PAID:
            return self.paid_at
        if self.status == flow.FAILED:
            return self.failed_at
        if self.status == flow.REJECTED:
            return self.reviewed_at
        return None

    def to_dict(self) -> dict[str, Any]:
        data = compact(asdict(self))
        data.pop("posting", None)
        if self.posting is not None:
            data["posting"] = self.posting.to_dict()
        return data

    def to_item(self, shop: str, distributor_id: str) -> dict[str, Any]:
        item = {
            "pk": keys.dist_pk(shop, distributor_id),
            "sk": keys.withdrawal_sk(self.withdrawal_id),
            **self.to_dict(),
        }
        if self.status in flow.STATUSES:
            item["gsi1pk"] = keys.withdrawal_queue_pk(shop, self.status)
            item["gsi1sk"] = keys.withdrawal_queue_sk(self.created_at, distributor_id, self.withdrawal_id)
        return item
