"""``retry.attempts`` for loops whose exhaustion is not a 503: the loop simply ends, and its
``else`` (or the code after it) decides what running out means. (A candidate for the kit.)"""

from __future__ import annotations

from collections.abc import Iterator

from campaign_shared.errors import ServiceUnavailable
from campaign_shared.storage import retry


def rounds(n: int, *, base: float = retry.BASE_SECONDS) -> Iterator[int]:
    """Attempt numbers ``0..n-1`` with the kit's backoff between them, then the end of the
    loop. Exceptions raised by the loop's body are not seen here."""
    try:
        yield from retry.attempts(n, busy="", base=base)
    except ServiceUnavailable:
        return
