"""Small helpers of the use cases: the clock, public URLs, a code's owner or 404."""

from __future__ import annotations

from typing import Any

from campaign_shared import clock, observability
from campaign_shared.errors import NotFound
from campaign_shared.settings import get_settings
from chalicelib.referral import domain
from chalicelib.referral.domain import CodeOwner
from chalicelib.referral.store import Stores, stores


def now() -> str:
    return clock.iso(clock.now())


def log() -> Any:
    return observability.logger("referral")


def real(given: Stores | None) -> Stores:
    return given if given is not None else stores()


def url(shop: str, code: str) -> str:
    return domain.code_url(get_settings().public_base_url, shop, code)


def owner_or_404(s: Stores, shop: str, code: str) -> CodeOwner:
    owner = s.codes.get(shop, domain.normalize_code(code))
    if owner is None:
        raise NotFound("no such referral code")
    return owner
