"""Share links: a distributor's link for a product (or the shop), and resolving a code."""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, ids, qr
from campaign_shared.errors import Conflict, Forbidden, NotFound
from campaign_shared.settings import get_settings
from campaign_shared.storage import retry
from chalicelib.distribution import models
from chalicelib.distribution.store.records import LinkRecord
from chalicelib.distribution.usecases.stores import STORES, Stores

CODE_LENGTH = 16
ALLOCATE_ATTEMPTS = 5


def _out(link: LinkRecord) -> models.LinkOut:
    base = get_settings().public_base_url.rstrip("/")
    return models.LinkOut(
        code=link.code,
        url=f"{base}/distribution/links/{link.code}",
        product_id=link.product_id,
        distributor_id=link.distributor_id,
    )


def create_link(
    shop: str, distributor_id: str, product_id: str | None, *, st: Stores = STORES
) -> models.LinkOut:
    """The distributor's link for a product (or the shop): the same one when asked again."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise Forbidden("only distributors can create links; register first")
    if record.status != "approved":
        raise Forbidden("only approved distributors can create links")
    for _ in retry.rounds(ALLOCATE_ATTEMPTS):
        existing = st.links.get_owned(shop, distributor_id, product_id)
        if existing is not None:
            return _out(existing)
        link = LinkRecord(
            code=ids.short_code(CODE_LENGTH),
            distributor_id=distributor_id,
            product_id=product_id,
            created_at=clock.iso(clock.now()),
        )
        if st.links.create(shop, link):
            return _out(link)
    raise Conflict("could not allocate a link; retry", code="conflict")


def invitation(shop: str, distributor_id: str, *, st: Stores = STORES) -> models.DistributionInvitationOut:
    """The distributor's invitation: their shop link's code (the same one every time), the
    invitation URL and where its QR code is. 403 unless an approved distributor."""
    link = create_link(shop, distributor_id, None, st=st)
    base = get_settings().public_base_url.rstrip("/")
    return models.DistributionInvitationOut(
        code=link.code,
        url=f"{base}/distribution/invitations/{link.code}",
        qr_svg_path="/distribution/me/invitation/qr.svg",
    )


def invitation_qr(shop: str, distributor_id: str, query: qr.QrQuery, *, st: Stores = STORES) -> Any:
    """The QR code (SVG) of the distributor's invitation URL."""
    url = invitation(shop, distributor_id, st=st).url
    return qr.response(*qr.image(url, "svg", query))


def resolve_link(shop: str, code: str, viewer: str | None = None, *, st: Stores = STORES) -> models.LinkOut:
    """A link of the shop. Its owner's id (a customer id) is shown only to the owner and,
    with ``viewer=None``, to the merchant; anyone else (another customer, the storefront)
    sees ``distributor_id: null``: a share link must not reveal who shared it."""
    link = st.links.get(shop, code)
    if link is None:
        raise NotFound("no such link")
    out = _out(link)
    if viewer is not None and viewer != link.distributor_id:
        out.distributor_id = None
    return out
