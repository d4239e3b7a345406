"""What every model module of /coupons shares: bounds, the time format, kinds and statuses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from campaign_shared.types import Timestamp
from chalicelib.coupons.domain.campaign import MAX_STOCK_SHARDS as MAX_STOCK_SHARDS

MAX_STOCK = 10_000_000
MAX_BULK_CUSTOMERS = 100_000
MAX_LUCKY_STOCK = 100_000
MAX_CODES = 10_000  # domain.codes.MAX_BATCH
# Times keep the exact form this service always required (upper-case ``T`` and ``Z``); the
# shared ``Timestamp`` also bounds the length and the years.
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def _real_time(value: str) -> str:
    from campaign_shared import clock

    try:
        return clock.iso(clock.parse(value))
    except ValueError:
        raise ValueError("not a valid RFC 3339 time") from None


Time = Annotated[Timestamp, StringConstraints(pattern=RFC3339), AfterValidator(_real_time)]
Kind = Literal["amount_off", "percent_off", "lucky"]
TemplateStatus = Literal["scheduled", "active", "paused", "ended"]
CouponStatus = Literal[
    "available", "locked", "redeemed", "expired", "revoked", "gifting", "gifted", "invalidated"
]
