"""A customer's coupon."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.coupons.store.records.common import REFUND_PREFIX, _opt_int, _plain, _reasons

# ---- coupons -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    """A customer's coupon: the template's terms copied at issue, its state, and the paid
    orders that named it without redeeming it (``conflicts``, once per ``conflict_events``)."""

    coupon_id: str
    template_id: str
    customer_id: str
    kind: str
    status: str = "available"
    name: str = ""
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount_amount: int | None = None
    min_spend_amount: int = 0
    currency: str = "CNY"
    issued_at: str = ""
    expires_at: str | None = None
    shard: int = 0
    slot: int | None = None
    source: str | None = None
    expires_at_epoch: int | None = None
    order_id: str | None = None
    locked_at: str | None = None
    lock_expires_at: str | None = None
    lock_ttl_seconds: int | None = None
    redeemed_at: str | None = None
    count_pending: bool = False
    counted_by: str | None = None
    conflicts: tuple[dict[str, Any], ...] = ()
    conflict_events: frozenset[str] = frozenset()
    revoked_at: str | None = None
    revoke_reason: str | None = None
    share_link_id: str | None = None
    grant_id: str | None = None  # the grant that issued it (a referral reward, an automation)
    order_paid_amount: int | None = None  # what the redeeming order paid
    discount_amount: int | None = None  # what this coupon took off it
    returned_from: tuple[str, ...] = ()  # orders fully refunded that gave it back
    budget_hold: int | None = None  # what its lock holds of the template's budget
    void_on_release: str | None = None  # the invalidation that voids it when its lock is released
    invalidated_by: str | None = None  # the invalidation that voided it
    return_pending: str | None = None  # the order whose given-back redemption is not counted yet
    refunds: dict[str, int] = field(default_factory=dict)  # "<order>:<refund id>" -> amount
    gift_expires_at: str | None = None
    gift: dict[str, Any] | None = None  # the gift it was given in or came from (domain.gifts)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Coupon:
        return cls(
            coupon_id=str(item["coupon_id"]),
            template_id=str(item.get("template_id", "")),
            customer_id=str(item.get("customer_id", "")),
            kind=str(item.get("kind", "amount_off")),
            status=str(item.get("status", "available")),
            name=str(item.get("name", "")),
            amount_off=_opt_int(item.get("amount_off")),
            percent_off=_opt_int(item.get("percent_off")),
            max_discount_amount=_opt_int(item.get("max_discount_amount")),
            min_spend_amount=int(item.get("min_spend_amount") or 0),
            currency=str(item.get("currency", "CNY")),
            issued_at=str(item.get("issued_at", "")),
            expires_at=item.get("expires_at"),
            shard=int(item.get("shard", 0)),
            slot=_opt_int(item.get("slot")),
            source=item.get("source"),
            expires_at_epoch=_opt_int(item.get("expires_at_epoch")),
            order_id=item.get("order_id"),
            locked_at=item.get("locked_at"),
            lock_expires_at=item.get("lock_expires_at"),
            lock_ttl_seconds=_opt_int(item.get("lock_ttl_seconds")),
            redeemed_at=item.get("redeemed_at"),
            count_pending=bool(item.get("count_pending")),
            counted_by=item.get("counted_by"),
            conflicts=tuple(item.get("conflicts") or ()),
            conflict_events=frozenset(item.get("conflict_events") or ()),
            revoked_at=item.get("revoked_at"),
            revoke_reason=item.get("revoke_reason"),
            share_link_id=item.get("share_link_id"),
            grant_id=item.get("grant_id"),
            order_paid_amount=_opt_int(item.get("order_paid_amount")),
            discount_amount=_opt_int(item.get("discount_amount")),
            returned_from=tuple(item.get("returned_from") or ()),
            return_pending=item.get("return_pending"),
            budget_hold=_opt_int(item.get("budget_hold")),
            void_on_release=item.get("void_on_release"),
            invalidated_by=item.get("invalidated_by"),
            refunds=_reasons(item, REFUND_PREFIX),
            gift_expires_at=item.get("gift_expires_at"),
            gift=dict(item["gift"]) if item.get("gift") else None,
        )

    def to_item(self) -> dict[str, Any]:
        item = _plain(self)
        if not self.count_pending:
            item.pop("count_pending")
        if self.conflicts:
            item["conflicts"] = [dict(c) for c in self.conflicts]
        else:
            item.pop("conflicts")
        if self.conflict_events:
            item["conflict_events"] = set(self.conflict_events)
        else:
            item.pop("conflict_events")
        if self.returned_from:
            item["returned_from"] = list(self.returned_from)
        else:
            item.pop("returned_from")
        item.pop("refunds")
        item.update({REFUND_PREFIX + k: v for k, v in self.refunds.items()})
        return item
