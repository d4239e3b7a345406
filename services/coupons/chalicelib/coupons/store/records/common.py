"""What every record module shares: the stored reason prefixes and the field helpers."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

SKIPPED_PREFIX = "skipped:"
FAILED_PREFIX = "failed:"
SAMPLE_PREFIX = "sample:"
REFUND_PREFIX = "refund:"  # a coupon's refunds: refund:<order>:<refund id> -> amount


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _plain(record: Any) -> dict[str, Any]:
    """The dataclass's fields as a dict, ``None`` left out (shallow: no copies)."""
    return {f.name: v for f in fields(record) if (v := getattr(record, f.name)) is not None}


def _reasons(item: dict[str, Any], prefix: str) -> dict[str, int]:
    return {k.removeprefix(prefix): int(v) for k, v in item.items() if k.startswith(prefix)}
