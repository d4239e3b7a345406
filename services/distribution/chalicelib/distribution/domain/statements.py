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

**Kept totals.** Reading a whole ledger for a statement grows with the ledger, so each
balance write also keeps the month's totals (``MonthTotals``) of the entries it posts, for
the ``KEPT_MONTHS`` most recent months. A month's statement then needs no entry at all:
walking back from the balance, ``closing = owed now - the owed changes of the later kept
months`` and ``opening = closing - the month's own change`` (``from_totals``). The totals are
exact for the months from the distributor's ``months_from`` on (every entry posted since
then went through them); older months are summed from the ledger (``statement``).
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


KEPT_MONTHS = 3  # the current month and the two before it


@dataclass(frozen=True)
class MonthTotals:
    """What a month's entries add up to: the owed and reserved changes, earned, reversed,
    withdrawn, and how many entries."""

    owed: int = 0
    reserved: int = 0
    earned: int = 0
    reversed: int = 0
    withdrawn: int = 0
    count: int = 0

    def add(self, entry: Entry) -> MonthTotals:
        change = owed(entry)
        earned = reversed_amount = withdrawn = 0
        if entry.kind in EARNED_KINDS:
            earned = entry.amount
        elif entry.kind in REVERSED_KINDS:
            reversed_amount = entry.amount
        elif change < 0:  # as in ``statement``
            withdrawn = -change
        return MonthTotals(
            owed=self.owed + change,
            reserved=self.reserved + entry.reserved,
            earned=self.earned + earned,
            reversed=self.reversed + reversed_amount,
            withdrawn=self.withdrawn + withdrawn,
            count=self.count + 1,
        )

    def to_list(self) -> list[int]:
        return [self.owed, self.reserved, self.earned, self.reversed, self.withdrawn, self.count]

    @classmethod
    def from_list(cls, values: Iterable[int]) -> MonthTotals:
        return cls(*(int(v) for v in values))


def month_of(at: str) -> str:
    return at[:7]


def months_back(month: str, n: int) -> str:
    """The month ``n`` months before ``month`` (YYYY-MM)."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def keep_totals(
    months: dict[str, MonthTotals], months_from: str | None, entries: Iterable[Entry], now_month: str
) -> tuple[dict[str, MonthTotals], str]:
    """The kept totals after posting ``entries``, and the month they are exact from: only
    the ``KEPT_MONTHS`` months up to ``now_month`` are kept. Without ``months_from`` (a
    distributor from before totals were kept) they are exact from the next month on."""
    oldest = months_back(now_month, KEPT_MONTHS - 1)
    start = months_from if months_from is not None else months_back(now_month, -1)
    kept = {m: t for m, t in months.items() if m >= oldest}
    for entry in entries:
        month = month_of(entry.at)
        if month >= oldest:
            kept[month] = kept.get(month, MonthTotals()).add(entry)
    return kept, max(start, oldest)


def from_totals(month: str, owed_now: int, reserved_now: int, months: dict[str, MonthTotals]) -> Statement:
    """The statement of ``month`` from the balance now and the kept totals (exact when the
    totals are exact for ``month`` and every month after it)."""
    later = [t for m, t in months.items() if m > month]
    own = months.get(month, MonthTotals())
    closing = owed_now - sum(t.owed for t in later)
    return Statement(
        month=month,
        opening=closing - own.owed,
        earned=own.earned,
        reversed=own.reversed,
        withdrawn=own.withdrawn,
        reserved=reserved_now - sum(t.reserved for t in later),
        closing=closing,
        entry_count=own.count,
    )


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
