"""The repurchase report: cohort counters summed by one dimension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chalicelib.audience.domain.counters import FIELDS, Cohort
from chalicelib.audience.domain.profiles import DAY, REPURCHASE_WINDOWS

DIMENSIONS = ("channel", "referral_code", "distributor", "first_coupon_template", "first_order_month")
MAX_RANGE_DAYS = 731  # two years (one of them may be a leap year)
NONE_KEY = "(none)"


class RangeError(ValueError):
    """An inverted or too long report period."""


def check_range(start: date, end: date) -> None:
    if end < start:
        raise RangeError("to must not be before from")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(f"the period spans more than two years ({MAX_RANGE_DAYS} days)")


def dimension_value(by: str, cohort: Cohort) -> str:
    value = {
        "channel": cohort.channel,
        "referral_code": cohort.referral_code,
        "distributor": cohort.distributor_code,
        "first_coupon_template": cohort.coupon_template_id,
        "first_order_month": cohort.day[:7],
    }[by]
    return value or NONE_KEY


@dataclass(frozen=True)
class ReportRow:
    key: str
    customers: int
    first_orders: int
    orders: int
    repeat_customers: int
    repurchase_30d_customers: int
    repurchase_60d_customers: int
    repurchase_90d_customers: int
    repurchase_30d_bps: int
    repurchase_60d_bps: int
    repurchase_90d_bps: int
    repurchase_rate_bps: int
    mean_days_between_orders: float | None
    gmv_amount: int


def _bps(part: int, whole: int) -> int:
    return part * 10_000 // whole if whole else 0


def row(key: str, sums: dict[str, int]) -> ReportRow:
    customers = sums.get("customers", 0)
    gaps = sums.get("gaps", 0)
    windows = {days: sums.get(f"r{days}", 0) for days in REPURCHASE_WINDOWS}
    return ReportRow(
        key=key,
        customers=customers,
        first_orders=customers,
        orders=sums.get("orders", 0),
        repeat_customers=sums.get("repeaters", 0),
        repurchase_30d_customers=windows[30],
        repurchase_60d_customers=windows[60],
        repurchase_90d_customers=windows[90],
        repurchase_30d_bps=_bps(windows[30], customers),
        repurchase_60d_bps=_bps(windows[60], customers),
        repurchase_90d_bps=_bps(windows[90], customers),
        repurchase_rate_bps=_bps(sums.get("repeaters", 0), customers),
        mean_days_between_orders=round(sums.get("span_s", 0) / gaps / DAY, 2) if gaps else None,
        gmv_amount=sums.get("gmv", 0),
    )


def summarize(by: str, counters: list[tuple[Cohort, dict[str, int]]]) -> tuple[list[ReportRow], ReportRow]:
    """The rows (sorted by key) and the total of ``counters`` grouped by ``by``."""
    groups: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    for cohort, sums in counters:
        group = groups.setdefault(dimension_value(by, cohort), {})
        for f in FIELDS:
            value = sums.get(f, 0)
            group[f] = group.get(f, 0) + value
            total[f] = total.get(f, 0) + value
    rows = [row(key, groups[key]) for key in sorted(groups) if groups[key].get("customers", 0)]
    return rows, row("total", total)


CSV_COLUMNS = (
    "key",
    "customers",
    "first_orders",
    "orders",
    "repeat_customers",
    "repurchase_30d_customers",
    "repurchase_60d_customers",
    "repurchase_90d_customers",
    "repurchase_30d_bps",
    "repurchase_60d_bps",
    "repurchase_90d_bps",
    "repurchase_rate_bps",
    "mean_days_between_orders",
    "gmv_amount",
)
