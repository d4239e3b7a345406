"""Per-customer limits: ``n`` coupons of a template counted for the customer, and the
``holders`` (issue keys of claims, grants and bulk jobs) that took them.

One conditional write: exact under any concurrency. The holder is remembered in the same
write, so a write retried after a lost answer reads ``held`` (its own count) instead of
``limit_reached``.
"""

from __future__ import annotations

from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import limit_key
from chalicelib.coupons.store.ports import Reserved


class DynamoLimits:
    def reserve(
        self, shop: str, template_id: str, customer_id: str, limit: int, holder: str | None
    ) -> Reserved:
        key = limit_key(shop, template_id, customer_id)
        if holder is None:
            written = items.update(
                key, "ADD n :one", "attribute_not_exists(n) OR n < :limit", values={"one": 1, "limit": limit}
            )
            return "reserved" if written.applied else "limit_reached"
        written = items.update(
            key,
            "ADD n :one, holders :holder",
            "(attribute_not_exists(n) OR n < :limit) AND NOT contains(holders, :key)",
            values={"one": 1, "holder": {holder}, "key": holder, "limit": limit},
        )
        if written.applied:
            return "reserved"
        return "held" if holder in ((written.item or {}).get("holders") or ()) else "limit_reached"

    def release(self, shop: str, template_id: str, customer_id: str, holder: str | None) -> None:
        """Give back a count (the stock ran out). With ``holder``: only if it holds one, so a
        retried release gives back nothing more; without: the caller's own fresh count."""
        key = limit_key(shop, template_id, customer_id)
        if holder is None:
            items.update(key, "ADD n :minus", "n > :zero", values={"minus": -1, "zero": 0})
            return
        items.update(
            key,
            "ADD n :minus DELETE holders :holder",
            "contains(holders, :key)",
            values={"minus": -1, "holder": {holder}, "key": holder},
        )
