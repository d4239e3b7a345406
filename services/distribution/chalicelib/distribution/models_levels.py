"""Request and response models of the levels, performance and period-leaderboard routes
(``routes_levels.py``); the rest of /distribution is in ``models.py``. Names carry the
``Distribution`` prefix (OpenAPI components are global)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictInt, StringConstraints

from campaign_shared.types import Amount, Bps, Id, In, Out, Query

LevelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class DistributionLevelIn(In):
    level_id: Id
    name: LevelName
    min_gmv_amount: Amount = Field(default=0, description="Trailing 30-day tier-1 GMV (minor units).")
    min_orders: Count = Field(default=0, description="Trailing 30-day tier-1 orders.")
    min_recruits: Count = Field(
        default=0, description="Distributors invited who registered in the trailing 30 days (approved)."
    )
    rate_bps: Bps | None = Field(
        default=None, description="Replaces the tier-1 rate (give this or bonus_bps)."
    )
    bonus_bps: Bps | None = Field(
        default=None, description="Added to the tier-1 rate (give this or rate_bps)."
    )


class DistributionLevelsIn(In):
    levels: list[DistributionLevelIn] = Field(
        max_length=20,
        description="Lowest first; every threshold of a level at least that of the level below, one higher.",
    )


class DistributionLevelOut(Out):
    level_id: str
    name: str
    rank: int = Field(description="1 for the lowest level.")
    min_gmv_amount: int
    min_orders: int
    min_recruits: int
    rate_bps: int | None = None
    bonus_bps: int | None = None


class DistributionLevelsOut(Out):
    levels: list[DistributionLevelOut]
    window_days: int = 30
    updated_at: str | None = None


class DistributionLevelEvaluationOut(Out):
    as_of: str
    window_start: str
    evaluated: int = Field(description="Distributors evaluated.")
    promoted: int
    demoted: int
    unchanged: int


class DistributionLevelMetricsOut(Out):
    gmv_amount: int
    orders: int
    recruits: int


class DistributionLevelChangeOut(Out):
    from_level: str | None = Field(description="null: the base (no level).")
    to_level: str | None
    at: str
    metrics: DistributionLevelMetricsOut = Field(description="The trailing-window figures that decided.")
    window_start: str | None = None


class DistributionDistributorLevelOut(Out):
    distributor_id: str
    level_id: str | None = Field(description="null: the base (no level).")
    name: str | None = None
    rank: int = Field(description="0 for the base.")
    since: str | None = None
    rate_bps: int | None = None
    bonus_bps: int | None = None
    history: list[DistributionLevelChangeOut] = Field(description="Newest first, at most 50.")


class DistributionPeriodQuery(Query):
    from_: date = Field(alias="from", description="First day of the period, YYYY-MM-DD UTC.")
    to: date = Field(description="Last day of the period, inclusive; at most 366 days after from.")


class DistributionPerformanceOut(Out):
    distributor_id: str
    from_date: str = Field(description="The period's first day (from).")
    to_date: str = Field(description="The period's last day, inclusive (to).")
    gmv_amount: int = Field(description="Paid amounts of the tier-1 lines of the period's orders.")
    orders: int = Field(description="Orders of the period that earned the distributor tier 1.")
    customers: int = Field(description="Distinct buyers of those orders: new_customers + repeat_customers.")
    new_customers: int = Field(
        description="Buyers whose first tier-1 order with this distributor is in the period."
    )
    repeat_customers: int = Field(
        description="Buyers of the period who had a tier-1 order with this distributor before it."
    )
    commission_amount: int = Field(
        description="Net commission of the period, both tiers: accruals less reversals and clawbacks."
    )
    currency: str


class DistributionLeaderboardQuery(DistributionPeriodQuery):
    by: Literal["gmv", "commission"] = "gmv"
    limit: int = Field(default=50, ge=1, le=200, description="Top N.")


class DistributionPeriodRankOut(Out):
    rank: int
    distributor_id: str
    gmv_amount: int
    orders: int
    commission_amount: int
    level_id: str | None = None


class DistributionPeriodLeaderboardOut(Out):
    by: str
    from_date: str = Field(description="The period's first day (from).")
    to_date: str = Field(description="The period's last day, inclusive (to).")
    distributors: int = Field(description="Distributors of the shop read to rank them.")
    items: list[DistributionPeriodRankOut]
