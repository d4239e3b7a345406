"""Distributor levels (等级), pure: the ladder a merchant defines, its validation, which level
a distributor's trailing metrics reach, and what a level does to the tier-1 rate.

- **A ladder.** Levels are listed lowest first. Each has thresholds on the trailing
  ``WINDOW`` (30 days): ``min_gmv_amount``, ``min_orders`` and ``min_recruits`` (a level may
  combine them; an absent threshold is 0 and at least one must be positive). A distributor
  reaches a level when every threshold of it is met.
- **No overlaps.** Every threshold of a higher level is at least that of the level below it,
  and at least one is strictly higher. So reaching a level means reaching every level below
  it, and the level reached is unambiguous (the highest one). A higher level with a lower
  threshold than the level below, or two levels with the same thresholds, is refused
  (``OVERLAP``, 409), naming the parameter.
- **Commission.** A level has either ``rate_bps`` (it replaces the tier-1 rate of the shop's
  rules) or ``bonus_bps`` (it is added to that rate). Either applies only to lines whose rule
  rate is positive: a product the rules exclude (rate 0) stays excluded. The tier-1 rate is
  then capped so that tier 1 + tier 2 never exceeds 10,000 bps. Tier 2 (the parent's rate)
  is not changed by the seller's level. The accrual stays ``floor(paid_amount * rate / 10000)``
  per line with the level's rate: a bonus is part of the rate, not a separate entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from campaign_shared import money

WINDOW = timedelta(days=30)
MAX_LEVELS = 20
METRICS = ("min_gmv_amount", "min_orders", "min_recruits")

INVALID = "invalid_request"  # 400
OVERLAP = "overlapping_levels"  # 409


@dataclass(frozen=True)
class Level:
    level_id: str
    name: str
    min_gmv_amount: int = 0
    min_orders: int = 0
    min_recruits: int = 0
    rate_bps: int | None = None
    bonus_bps: int | None = None

    def thresholds(self) -> tuple[int, int, int]:
        return (self.min_gmv_amount, self.min_orders, self.min_recruits)

    def reached_by(self, metrics: Metrics) -> bool:
        return (
            metrics.gmv_amount >= self.min_gmv_amount
            and metrics.orders >= self.min_orders
            and metrics.recruits >= self.min_recruits
        )


@dataclass(frozen=True)
class Metrics:
    """A distributor's trailing-window figures: tier-1 GMV (paid amounts of the lines that
    earned them a tier-1 commission), tier-1 orders, and recruits (distributors they invited
    who registered in the window and are approved)."""

    gmv_amount: int = 0
    orders: int = 0
    recruits: int = 0


@dataclass(frozen=True)
class Problem:
    """Why a ladder is refused: the parameter (``levels[2].min_orders``), the message and the
    error code (``INVALID``: 400, ``OVERLAP``: 409)."""

    param: str
    message: str
    code: str = INVALID


def ladder_problem(levels: Sequence[Level], parent_rate_bps: int, max_rule_bps: int) -> Problem | None:
    """The first problem of a ladder, or None. ``max_rule_bps``: the highest tier-1 rate of
    the rules (default or product), against which a bonus is checked."""
    if len(levels) > MAX_LEVELS:
        return Problem("levels", f"at most {MAX_LEVELS} levels")
    ids: set[str] = set()
    names: set[str] = set()
    for i, level in enumerate(levels):
        at = f"levels[{i}]"
        if level.level_id in ids:
            return Problem(f"{at}.level_id", f"level_id {level.level_id!r} is used twice")
        if level.name in names:
            return Problem(f"{at}.name", f"name {level.name!r} is used twice")
        ids.add(level.level_id)
        names.add(level.name)
        if (level.rate_bps is None) == (level.bonus_bps is None):
            return Problem(at, "a level has either rate_bps (an override) or bonus_bps, not both or neither")
        if not any(level.thresholds()):
            return Problem(
                at, "a level needs a positive threshold (min_gmv_amount, min_orders or min_recruits)"
            )
        if level.rate_bps is not None and level.rate_bps + parent_rate_bps > money.BPS:
            return Problem(
                f"{at}.rate_bps",
                f"rate_bps plus the rules' parent_rate_bps may not exceed {money.BPS} bps",
            )
        if level.bonus_bps is not None and max_rule_bps + level.bonus_bps + parent_rate_bps > money.BPS:
            return Problem(
                f"{at}.bonus_bps",
                f"the highest rule rate plus bonus_bps plus parent_rate_bps may not exceed {money.BPS} bps",
            )
        if i == 0:
            continue
        below = levels[i - 1]
        for name, low, high in zip(METRICS, below.thresholds(), level.thresholds(), strict=True):
            if high < low:
                return Problem(
                    f"{at}.{name}",
                    f"{name} {high} of level {level.level_id!r} is below {low} of the level under it "
                    f"({below.level_id!r}): levels are listed lowest first",
                    OVERLAP,
                )
        if level.thresholds() == below.thresholds():
            return Problem(
                at,
                f"level {level.level_id!r} has the same thresholds as {below.level_id!r}: "
                "one threshold must be higher",
                OVERLAP,
            )
    return None


def reached(levels: Sequence[Level], metrics: Metrics) -> Level | None:
    """The highest level the metrics reach (None: the base, below every level)."""
    found = None
    for level in levels:
        if level.reached_by(metrics):
            found = level
    return found


def find(levels: Sequence[Level], level_id: str | None) -> Level | None:
    return next((level for level in levels if level.level_id == level_id), None)


def rank(levels: Sequence[Level], level_id: str | None) -> int:
    """0 for the base (or a level no longer defined), 1 for the lowest level, and so on."""
    for i, level in enumerate(levels):
        if level.level_id == level_id:
            return i + 1
    return 0


def tier1_rate(rule_bps: int, tier2_bps: int, level: Level | None) -> int:
    """The tier-1 rate of a line under a level (module docstring): the rule's rate when there
    is no level or the rule excludes the line, else the override or rule + bonus, capped so
    that tier 1 + tier 2 <= 10,000."""
    if level is None or rule_bps <= 0:
        return rule_bps
    rate = level.rate_bps if level.rate_bps is not None else rule_bps + (level.bonus_bps or 0)
    return max(0, min(rate, money.BPS - tier2_bps))
