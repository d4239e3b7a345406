"""Share links (``slink#<shop>#<link>``): the link, and one item per coupon claimed through it
(``claim#<coupon>``) and per redemption of such a coupon (``redeem#<coupon>``, with the
order's GMV and discount). Both are put unless they exist, keyed by the coupon, so a
retried claim or a redelivered payment is counted once; the link's tally is one Query of
its partition."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import codec, paging
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import link_event_key, link_key, link_pk, table, template_links_pk
from chalicelib.coupons.store.records import LinkTally, ShareLink

LISTED = "gsi1"


class DynamoShareLinks:
    def create(self, shop: str, link: ShareLink) -> None:
        listing = {
            "gsi1pk": template_links_pk(shop, link.template_id),
            "gsi1sk": f"{link.created_at}#{link.link_id}",
        }
        items.create(link_key(shop, link.link_id), {**link.to_item(), **listing})

    def get(self, shop: str, link_id: str) -> ShareLink | None:
        item = items.get(link_key(shop, link_id))
        return ShareLink.from_item(item) if item else None

    def page(self, shop: str, template_id: str, page: PageParams) -> tuple[list[ShareLink], str | None]:
        found, cursor = paging.query_page(
            table=table(),
            index=LISTED,
            key_condition="gsi1pk = :pk",
            expression_values=codec.values(pk=template_links_pk(shop, template_id)),
            page=page,
        )
        return [ShareLink.from_item(i) for i in found], cursor

    def record_claim(self, shop: str, link_id: str, coupon_id: str, customer_id: str, at: str) -> None:
        items.create(
            link_event_key(shop, link_id, "claim", coupon_id),
            {"coupon_id": coupon_id, "customer_id": customer_id, "at": at},
        )

    def record_redemption(
        self, shop: str, link_id: str, coupon_id: str, order_id: str, gmv: int, discount: int, at: str
    ) -> None:
        items.create(
            link_event_key(shop, link_id, "redeem", coupon_id),
            {"coupon_id": coupon_id, "order_id": order_id, "gmv": gmv, "discount": discount, "at": at},
        )

    def tally(self, shop: str, link_id: str) -> LinkTally:
        counts: dict[str, Any] = {"claim": 0, "redeem": 0, "gmv": 0, "discount": 0}
        for item in paging.query_all(
            table=table(),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=link_pk(shop, link_id)),
            projection="sk, gmv, discount",
            consistent=True,
        ):
            kind = str(item["sk"]).split("#", 1)[0]  # the link itself ("link") counts for nothing
            if kind in ("claim", "redeem"):
                counts[kind] += 1
            if kind == "redeem":
                counts["gmv"] += int(item.get("gmv", 0))
                counts["discount"] += int(item.get("discount", 0))
        return LinkTally(counts["claim"], counts["redeem"], counts["gmv"], counts["discount"])
