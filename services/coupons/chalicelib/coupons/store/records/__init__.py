"""Typed records of the coupons table: frozen dataclasses, each with ``from_item`` (a plain
dict as stored; fields it does not know are ignored, missing ones take their defaults) and
``to_item`` (the stored attributes, without the key; ``None`` values are left out).

Stored names are unchanged. ``Plan.from_item`` also reads a plan fixed before reasons were
recorded (``skipped``/``failed`` totals instead of ``skipped_by``/``failed_by``).
"""

from __future__ import annotations

from chalicelib.coupons.store.records.common import (
    FAILED_PREFIX,
    REFUND_PREFIX,
    SAMPLE_PREFIX,
    SKIPPED_PREFIX,
)
from chalicelib.coupons.store.records.coupons import (
    Coupon,
)
from chalicelib.coupons.store.records.jobs import (
    BlockRef,
    Grant,
    Invalidation,
    Job,
    Plan,
    Winner,
)
from chalicelib.coupons.store.records.sharing import (
    Code,
    CodeBatch,
    Gift,
    LinkTally,
    ShareLink,
)
from chalicelib.coupons.store.records.templates import (
    Budget,
    Change,
    Refused,
    Shard,
    ShopSettings,
    Template,
)

__all__ = [
    "Invalidation",
    "Budget",
    "BlockRef",
    "Change",
    "Code",
    "CodeBatch",
    "Coupon",
    "FAILED_PREFIX",
    "REFUND_PREFIX",
    "Gift",
    "Grant",
    "Job",
    "LinkTally",
    "Plan",
    "Refused",
    "SAMPLE_PREFIX",
    "SKIPPED_PREFIX",
    "Shard",
    "ShopSettings",
    "ShareLink",
    "Template",
    "Winner",
]
