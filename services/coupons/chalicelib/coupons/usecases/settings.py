"""The shop's coupon settings (merchant): read and write them whole."""

from __future__ import annotations

from campaign_shared import clock
from chalicelib.coupons import domain
from chalicelib.coupons.models import CouponSettingsIn, CouponSettingsOut
from chalicelib.coupons.store.records import ShopSettings
from chalicelib.coupons.usecases import Stores, stores_or_default


def _out(settings: ShopSettings) -> CouponSettingsOut:
    return CouponSettingsOut(
        lock_ttl_seconds=settings.lock_ttl_seconds,
        effective_lock_ttl_seconds=domain.lock_ttl(None, settings.lock_ttl_seconds),
        updated_at=settings.updated_at,
        updated_by=settings.updated_by,
    )


def get(shop: str, stores: Stores | None = None) -> CouponSettingsOut:
    return _out(stores_or_default(stores).settings.get(shop, fresh=True))


def put(shop: str, body: CouponSettingsIn, actor: str, stores: Stores | None = None) -> CouponSettingsOut:
    """Write the settings whole; the locks taken from then on use them (other processes
    within 2 s: they keep a read that long)."""
    settings = ShopSettings(
        lock_ttl_seconds=body.lock_ttl_seconds, updated_at=clock.iso(clock.now()), updated_by=actor
    )
    stores_or_default(stores).settings.put(shop, settings)
    return _out(settings)
