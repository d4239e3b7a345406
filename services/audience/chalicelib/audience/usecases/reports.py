"""The repurchase report: the cohort counters of the period, summed by one dimension."""

from __future__ import annotations

import csv
import io

from campaign_shared.errors import InvalidRequest
from chalicelib.audience.domain import reports
from chalicelib.audience.models import AudienceReportOut, AudienceReportQuery, AudienceReportRow
from chalicelib.audience.usecases.common import Stores, stores


def _row(row: reports.ReportRow) -> AudienceReportRow:
    return AudienceReportRow(**row.__dict__)


def repurchase(shop: str, query: AudienceReportQuery, using: Stores | None = None) -> AudienceReportOut:
    try:
        reports.check_range(query.from_, query.to)
    except reports.RangeError as exc:
        raise InvalidRequest(str(exc), details=[{"loc": ["query", "to"], "msg": str(exc)}]) from None
    first, last = query.from_.isoformat(), query.to.isoformat()
    counters = list((using or stores()).counters.read(shop, first, last))
    rows, total = reports.summarize(query.by, counters)
    return AudienceReportOut(
        by=query.by, first_day=first, last_day=last, items=[_row(r) for r in rows], total=_row(total)
    )


def as_csv(report: AudienceReportOut) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["by", *reports.CSV_COLUMNS])
    for row in [*report.items, report.total]:
        data = row.model_dump()
        writer.writerow([report.by, *("" if data[c] is None else data[c] for c in reports.CSV_COLUMNS)])
    return out.getvalue()
