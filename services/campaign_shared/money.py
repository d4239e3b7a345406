"""Money is integer minor units; rates are basis points. Rounding is floor, written here once.

``apply_bps(amount, bps)`` is ``floor(amount * bps / 10000)`` for non-negative amounts: the
platform never pays out a fraction of a fen it did not earn. ``split_proportional`` shares an
integer total by weights so the parts add up exactly (largest remainder, ties to the earliest).
"""

from __future__ import annotations

BPS = 10_000


def apply_bps(amount: int, bps: int) -> int:
    if amount < 0 or bps < 0:
        raise ValueError("amount and bps must be non-negative")
    return amount * bps // BPS


def proportional(total: int, part: int, whole: int) -> int:
    """floor(total * part / whole): the share of ``total`` that ``part`` of ``whole`` is."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    if not 0 <= part <= whole:
        raise ValueError("part must be within 0..whole")
    return total * part // whole


def split_proportional(total: int, weights: list[int]) -> list[int]:
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("total and weights must be non-negative")
    whole = sum(weights)
    if whole == 0:
        return [0 for _ in weights]
    parts = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(parts)]:
        parts[i] += 1
    return parts
