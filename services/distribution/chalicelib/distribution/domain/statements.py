"""Monthly statements (结算单), pure: a distributor's calendar month (UTC) from the ledger.

The statement's balance is what the shop owes the distributor: ``pending + available +
reserved`` (commissions not yet settled, settled and not requested, requested and not yet
paid). Per entry kind, its change to that balance is:

- ``accrual``: +amount (``earned``);
- ``reversal`` and ``clawback``: -amount (``reversed``);
- ``withdrawal_payout`` (and a ``withdrawal`` made before the workflow, which paid at once):
  -amount (``withdrawn``);
- ``settlement``, a ``withdrawal`` request and ``withdrawal_release`` move money between the
  buckets and leave the balance as it is.

So ``closing = opening + earned - reversed - withdrawn``, exactly, and each month's closing is
the next month's opening. ``reserved`` is the reserved bucket at the end of the month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.distribution.domain.values import Entry

EARNED_KINDS = ("accrual",)
REVERSED_KINDS = ("reversal", "clawback")


@dataclass(frozen=True)
class Statement:
    month: str  # YYYY-MM
    opening: int
    earned: int
    reversed: int
    withdrawn: int
    reserved: int
    closing: int
    entry_count: int


def owed(entry: Entry) -> int:
    """The entry's change to the balance owed (``pending + available + reserved``)."""
    return entry.pending + entry.available + entry.reserved


def month_bounds(month: str) -> tuple[str, str]:
    """[start, end) of a ``YYYY-MM`` month as RFC 3339 prefixes that sort like the ledger's
    times. ``ValueError`` when malformed."""
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValueError("month must be YYYY-MM")
    year, number = int(month[:4]), int(month[5:])
    if not 1 <= number <= 12 or not 1970 <= year <= 2999:
        raise ValueError("month must be YYYY-MM between 1970-01 and 2999-12")
    following = f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"
    return f"{month}-01T00:00:00Z", f"{following}-01T00:00:00Z"


def statement(month: str, before: Iterable[Entry], during: Iterable[Entry]) -> Statement:
    """The statement of ``month`` from the entries before it and the entries in it."""
    opening = reserved = 0
    for entry in before:
        opening += owed(entry)
        reserved += entry.reserved
    earned = reversed_amount = withdrawn = count = 0
    closing = opening
    for entry in during:
        count += 1
        change = owed(entry)
        closing += change
        reserved += entry.reserved
        if entry.kind in EARNED_KINDS:
            earned += entry.amount
        elif entry.kind in REVERSED_KINDS:
            reversed_amount += entry.amount
        elif change < 0:  # a payout, or a withdrawal paid at once before the workflow
            withdrawn += -change
    return Statement(
        month=month,
        opening=opening,
        earned=earned,
        reversed=reversed_amount,
        withdrawn=withdrawn,
        reserved=reserved,
        closing=closing,
        entry_count=count,
    )
