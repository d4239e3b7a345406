"""Share links: a template put into a channel (a WeChat group, 1:1 chats, Moments) by the
merchant or by a customer. Claims through a link record it on the coupon and on the link;
the link's figures (claims, redemptions, the GMV of the orders that redeemed them, their
discount) show which group or whose share brought the buyers."""

from __future__ import annotations

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, Forbidden, NotFound
from campaign_shared.qr import QrQuery
from campaign_shared.settings import public_url
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import domain
from chalicelib.coupons.models import CouponOut, PublicShareLink, ShareLinkIn, ShareLinkOut, ShareLinkPage
from chalicelib.coupons.store.records import ShareLink
from chalicelib.coupons.usecases import Stores, claims, stores_or_default
from chalicelib.coupons.usecases.templates import template_or_404
from chalicelib.coupons.usecases.wallet import coupon_out


def link_url(shop: str, link_id: str) -> str:
    return public_url(f"/coupons/s/{shop}/{link_id}")


def _out(s: Stores, shop: str, link: ShareLink) -> ShareLinkOut:
    tally = s.links.tally(shop, link.link_id)
    url = link_url(shop, link.link_id)
    return ShareLinkOut(
        **link.to_item(),
        url=url,
        qr_svg_url=public_url(f"/coupons/share-links/{link.link_id}/qr.svg"),
        claims=tally.claims,
        redemptions=tally.redemptions,
        redeemed_gmv_amount=tally.redeemed_gmv_amount,
        discount_amount=tally.discount_amount,
    )


def _link_or_404(s: Stores, shop: str, link_id: str) -> ShareLink:
    link = s.links.get(shop, link_id)
    if link is None:
        raise NotFound("no such share link")
    return link


def create(
    shop: str,
    template_id: str,
    body: ShareLinkIn,
    caller: str,
    is_customer: bool,
    stores: Stores | None = None,
) -> ShareLinkOut:
    """A new link of the template into ``body.channel``: 409 ``ended`` once the template is."""
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id)
    sharer = body.sharer_id
    if is_customer:
        if sharer is not None and sharer != caller:
            raise Forbidden("a customer shares links as themselves")
        sharer = caller
    if domain.template_status(template, clock.now()) == "ended":
        raise Conflict("this template has ended; it cannot be shared", code="ended")
    link = ShareLink(
        link_id=ids.new_id("sl-"),
        template_id=template_id,
        channel=body.channel,
        created_at=clock.iso(clock.now()),
        created_by=caller,
        sharer_id=sharer,
    )
    s.links.create(shop, link)
    return _out(s, shop, link)


def get(shop: str, link_id: str, stores: Stores | None = None) -> ShareLinkOut:
    s = stores_or_default(stores)
    return _out(s, shop, _link_or_404(s, shop, link_id))


def page(shop: str, template_id: str, query: PageParams, stores: Stores | None = None) -> ShareLinkPage:
    """The template's links, oldest first, each with its figures (one Query per link)."""
    s = stores_or_default(stores)
    template_or_404(s, shop, template_id)
    found, cursor = s.links.page(shop, template_id, query)
    return ShareLinkPage(items=[_out(s, shop, link) for link in found], next_cursor=cursor)


def claim(shop: str, link_id: str, customer_id: str, stores: Stores | None = None) -> CouponOut:
    """Claim the link's template through it (the claim's own 409s apply)."""
    s = stores_or_default(stores)
    link = _link_or_404(s, shop, link_id)
    coupon = claims.claim(shop, link.template_id, customer_id, s, link_id=link.link_id)
    return coupon_out(coupon, clock.now())


def public(shop: str, link_id: str, stores: Stores | None = None) -> PublicShareLink:
    s = stores_or_default(stores)
    link = _link_or_404(s, shop, link_id)
    template = template_or_404(s, shop, link.template_id)
    return PublicShareLink.model_validate(
        {
            **template.to_item(),
            "shop": shop,
            "link_id": link_id,
            "status": domain.template_status(template, clock.now()),
            "claim_path": f"/coupons/share-links/{link_id}/claim",
        }
    )


def qr(
    shop: str, link_id: str, kind: str, query: QrQuery, stores: Stores | None = None
) -> tuple[bytes | str, str]:
    """The QR image of the link's URL: (body, content type)."""
    from campaign_shared import qr as codes

    _link_or_404(stores_or_default(stores), shop, link_id)
    return codes.image(link_url(shop, link_id), kind, query)
