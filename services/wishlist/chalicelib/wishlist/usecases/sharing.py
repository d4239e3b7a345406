"""Share links and what a friend sees through one.

A share token is 24 URL-safe characters (144 random bits). The share record is the one
source of truth: revoking deletes it in the same transaction that clears the list's token,
so the old token is 404 from that write on. Sharing a list that is already shared returns
its current token; sharing after a revoke issues a new one."""

from __future__ import annotations

from campaign_shared import clock, ids
from campaign_shared.errors import NotFound
from campaign_shared.storage import retry
from chalicelib.wishlist import domain
from chalicelib.wishlist.models import PublicListOut, ShareOut
from chalicelib.wishlist.store.records import ListRecord, ShareRecord
from chalicelib.wishlist.usecases import Stores, real_stores, views

SHARE_ATTEMPTS = 3
BUSY = "the list is busy; retry shortly"


def _owned(stores: Stores, shop: str, owner: str, list_id: str) -> ListRecord:
    meta = stores.lists.get(shop, list_id)
    if meta is None or meta.owner != owner:
        raise NotFound("no such list")
    return meta


def share(shop: str, owner: str, list_id: str, stores: Stores | None = None) -> ShareOut:
    stores = stores or real_stores()
    for _ in retry.attempts(SHARE_ATTEMPTS, busy=BUSY):
        token = _owned(stores, shop, owner, list_id).share_token
        if not token:
            token = ids.token(domain.SHARE_TOKEN_BYTES)
            record = ShareRecord(token=token, list_id=list_id, owner=owner, created_at=clock.iso(clock.now()))
            if not stores.shares.share(shop, record):
                continue  # shared or revoked concurrently: look again
        return ShareOut(list_id=list_id, share_token=token, url=views.share_url(token))
    raise AssertionError("unreachable")  # retry.attempts raises when it runs out


def revoke(shop: str, owner: str, list_id: str, stores: Stores | None = None) -> None:
    """Revoke the list's share link; revoking a list that is not shared does nothing."""
    stores = stores or real_stores()
    for _ in retry.attempts(SHARE_ATTEMPTS, busy=BUSY):
        token = _owned(stores, shop, owner, list_id).share_token
        if not token or stores.shares.revoke(shop, list_id, owner, token):
            return
    raise AssertionError("unreachable")  # retry.attempts raises when it runs out


def shared(stores: Stores, shop: str, token: str) -> ShareRecord:
    """The share link of ``token``, or 404 (a token of another shape is 404 without a read)."""
    found = stores.shares.get(shop, token) if domain.is_share_token(token) else None
    if found is None:
        raise NotFound("no such share link")
    return found


def public_view(shop: str, token: str, stores: Stores | None = None) -> PublicListOut:
    stores = stores or real_stores()
    link = shared(stores, shop, token)
    meta, items = stores.lists.load(shop, link.list_id, "public")
    if meta is None or meta.share_token != token:
        raise NotFound("no such share link")
    now = clock.epoch(clock.now())
    return PublicListOut(
        list_id=meta.list_id,
        title=meta.title,
        occasion=meta.occasion,
        items=[views.public_item(item, now) for item in items],
    )
