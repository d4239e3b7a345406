"""The one source of "now", so tests and the settlement run can move time explicitly.

Times on the wire are RFC 3339. ``parse`` accepts only instants whose UTC value lies in
``[MIN_YEAR, MAX_YEAR]``: anything else (``9999-12-31T23:59:59-23:59`` overflows Python's
datetime once moved to UTC) is a ``ValueError``, which every model turns into a 400.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

MIN_YEAR = 1970
MAX_YEAR = 2999
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
_RFC3339 = re.compile(RFC3339, re.IGNORECASE)


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, second precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    """An RFC 3339 time as an aware UTC datetime; ``ValueError`` when malformed or out of range."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError("not an RFC 3339 time")
    body = text.upper().replace("Z", "+00:00")
    if "." in body:  # Python reads at most 6 fractional digits
        head, _, tail = body.partition(".")
        digits = re.match(r"\d+", tail)
        frac = digits.group(0) if digits else ""
        body = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac) :]}"
    try:
        moment = datetime.fromisoformat(body)
        if moment.tzinfo is None:  # pragma: no cover - the pattern requires an offset
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("not a valid time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"time must fall within the years {MIN_YEAR}..{MAX_YEAR} (UTC)")
    return moment


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())
