"""One retry policy for storage calls.

- ``backoff(attempt)``: sleep ``base * 2**attempt`` (capped) with full jitter;
- ``with_retries(call)``: a call retried on transient failures (``failures.is_transient``),
  never on a refused condition; the last failure is raised as it was;
- ``attempts(n, busy=...)`` (``rounds(n)`` when running out is not an error): the loop of an
  optimistic read-modify-write. It yields attempt
  numbers with a backoff between them; when the body has neither returned nor broken out
  after ``n`` attempts, it raises ``ServiceUnavailable(busy)`` (503, retry shortly)::

      for _ in retry.attempts(5, busy="the item is busy; retry shortly"):
          item = repo.get(...)
          if repo.save(item, version=item.version):
              return item
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from campaign_shared.errors import ServiceUnavailable
from campaign_shared.storage.failures import is_transient

T = TypeVar("T")

BASE_SECONDS = 0.01
CAP_SECONDS = 1.0


def backoff(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> None:
    """Sleep before retry number ``attempt + 1`` (full jitter: uniform in 0..the capped step)."""
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))


def with_retries(call: Callable[[], T], attempts: int = 5, base: float = BASE_SECONDS) -> T:
    """``call()`` retried with backoff while it fails transiently (at most ``attempts`` tries)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            backoff(attempt, base)
    raise AssertionError("unreachable")  # pragma: no cover


def attempts(n: int, *, busy: str, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> Iterator[int]:
    """Attempt numbers ``0..n-1`` with a backoff between them (each pause at most ``cap``);
    then 503 ``busy``. A loop that many attempts may lose (a hot balance) keeps ``cap`` small,
    so that its worst case stays within the caller's time."""
    yield from rounds(n, base=base, cap=cap)
    raise ServiceUnavailable(busy)


def rounds(n: int, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> Iterator[int]:
    """Like ``attempts``, for loops whose exhaustion is not a 503: the loop simply ends, and
    the code after it decides what running out means."""
    for attempt in range(n):
        if attempt:
            backoff(attempt - 1, base, cap)
        yield attempt
