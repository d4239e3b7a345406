"""Performance for a period (``domain.performance``): per distributor (the merchant's view and
the distributor's own) and the shop's leaderboard by GMV or commission.

Periods are whole UTC days, ``from`` to ``to`` inclusive, at most ``MAX_DAYS``. Both read the
ledger's entries, never the commission rows:

- **A distributor's performance** reads their entries dated before the period's end (one
  Query, page after page): those before the period only tell new customers from repeat ones.
  Read cost: about one read unit per 12 entries of the distributor up to ``to``, like a
  monthly statement.
- **The leaderboard** reads every distributor of the shop (the leaderboard index) and, for
  each, their entries dated in the period. Read cost: the shop's distributor items (about
  1 unit per 4 KB) + per distributor one Query of at least 1 unit (about 12 entries per unit).
  It is exact and has no writes; its cost grows with the shop's distributors, so it suits
  shops of up to a few thousand distributors per request (see the service README).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from campaign_shared.errors import InvalidRequest, NotFound
from chalicelib.distribution import models_levels as models
from chalicelib.distribution.domain import performance
from chalicelib.distribution.usecases.stores import STORES, Stores

MAX_DAYS = 366


def period(first: date, last: date) -> tuple[str, str]:
    """``[start, end)`` of the days ``first``..``last`` (RFC 3339); 400 naming the parameter
    when ``to`` is before ``from`` or the period is longer than ``MAX_DAYS``."""
    if last < first:
        raise InvalidRequest(
            "to: the period ends before it starts",
            details=[{"loc": ["query", "to"], "msg": "to is before from", "type": "period"}],
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest(
            f"to: a period is at most {MAX_DAYS} days",
            details=[{"loc": ["query", "to"], "msg": f"at most {MAX_DAYS} days", "type": "period"}],
        )
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


def of_distributor(
    shop: str, distributor_id: str, query: models.DistributionPeriodQuery, *, st: Stores = STORES
) -> models.DistributionPerformanceOut:
    start, end = period(query.from_, query.to)
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    made = performance.figures(st.activity.entries_between(shop, distributor_id, None, end), start, end)
    return models.DistributionPerformanceOut(
        distributor_id=distributor_id,
        from_date=query.from_.isoformat(),
        to_date=query.to.isoformat(),
        gmv_amount=made.gmv_amount,
        orders=made.orders,
        customers=made.customers,
        new_customers=made.new_customers,
        repeat_customers=made.repeat_customers,
        commission_amount=made.commission_amount,
        currency=record.currency,
    )


def leaderboard(
    shop: str, query: models.DistributionLeaderboardQuery, *, st: Stores = STORES
) -> models.DistributionPeriodLeaderboardOut:
    """The shop's distributors with sales or commission in the period, ranked by ``by``
    (highest first; ties by distributor id), top ``limit``."""
    start, end = period(query.from_, query.to)
    records = st.levels.distributors(shop)
    rows = []
    for record in records:
        made = performance.figures(
            st.activity.entries_between(shop, record.distributor_id, start, end), start, end
        )
        if made.orders or made.commission_amount:
            rows.append((record, made))
    score = (lambda m: m.gmv_amount) if query.by == "gmv" else (lambda m: m.commission_amount)
    rows.sort(key=lambda row: (-score(row[1]), row[0].distributor_id))
    items = [
        models.DistributionPeriodRankOut(
            rank=i + 1,
            distributor_id=record.distributor_id,
            gmv_amount=made.gmv_amount,
            orders=made.orders,
            commission_amount=made.commission_amount,
            level_id=record.level_id,
        )
        for i, (record, made) in enumerate(rows[: query.limit])
    ]
    return models.DistributionPeriodLeaderboardOut(
        by=query.by,
        from_date=query.from_.isoformat(),
        to_date=query.to.isoformat(),
        distributors=len(records),
        items=items,
    )
