"""Grant records (``grant#<shop>#<grant>`` / ``grant``): one per grant id, ``pending`` with
the coupon id it will issue, then ``issued`` or ``failed`` with the reason."""

from __future__ import annotations

from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import grant_key
from chalicelib.coupons.store.records import Grant
from chalicelib.coupons.store.table import expiry


class DynamoGrants:
    def start(self, shop: str, grant: Grant) -> Grant:
        key = grant_key(shop, grant.grant_id)
        fresh = Grant(grant.grant_id, grant.template_id, grant.customer_id, grant.coupon_id, "pending")
        written = items.create(key, {**fresh.to_item(), "expires_at_epoch": expiry()})
        if written.applied:
            return fresh
        if written.item is None:  # pragma: no cover - created and deleted in between: never (no deletes)
            raise RuntimeError("grant record vanished")
        return Grant.from_item(written.item)

    def finish(self, shop: str, grant_id: str, status: str, reason: str | None) -> None:
        if reason is None:
            items.update(
                grant_key(shop, grant_id),
                "SET #st = :status",
                names={"#st": "status"},
                values={"status": status},
            )
            return
        items.update(
            grant_key(shop, grant_id),
            "SET #st = :status, reason = :reason",
            names={"#st": "status"},
            values={"status": status, "reason": reason},
        )

    def get(self, shop: str, grant_id: str) -> Grant | None:
        item = items.get(grant_key(shop, grant_id))
        return Grant.from_item(item) if item is not None else None
