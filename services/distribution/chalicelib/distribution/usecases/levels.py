"""Levels: the merchant's ladder, the evaluation that moves distributors between levels (the
``evaluate_levels`` schedule and the merchant's "run now"), the level views, and the level in
force when an order was paid (``in_force``, used when the payment is recorded).

The rules are in ``domain.levels``. An evaluation reads every distributor of the shop (the
leaderboard index) and each one's ledger entries of the trailing 30 days; a distributor whose
level changes gets three single-item writes (``store.levels``). Read cost per run: the shop's
distributor items (about 1 read unit per 4 KB of them) plus, per distributor, one Query of
their trailing-window entries (at least 1 read unit; about 12 entries per unit)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest, NotFound
from chalicelib.distribution import models_levels as models
from chalicelib.distribution.domain import levels as rules_of
from chalicelib.distribution.domain import performance
from chalicelib.distribution.domain.levels import Level, Metrics
from chalicelib.distribution.store.levels import LevelChange, LevelsRecord
from chalicelib.distribution.store.records import DistributorRecord
from chalicelib.distribution.usecases import shops
from chalicelib.distribution.usecases.stores import STORES, Stores

HISTORY_LIMIT = 50


# ---- the ladder --------------------------------------------------------------------------------


def ladder(shop: str, st: Stores) -> tuple[Level, ...]:
    found = st.levels.get_ladder(shop)
    return found.levels if found else ()


def _level_out(levels: Sequence[Level], level: Level) -> models.DistributionLevelOut:
    return models.DistributionLevelOut(
        level_id=level.level_id,
        name=level.name,
        rank=rules_of.rank(levels, level.level_id),
        min_gmv_amount=level.min_gmv_amount,
        min_orders=level.min_orders,
        min_recruits=level.min_recruits,
        rate_bps=level.rate_bps,
        bonus_bps=level.bonus_bps,
    )


def _ladder_out(record: LevelsRecord) -> models.DistributionLevelsOut:
    return models.DistributionLevelsOut(
        levels=[_level_out(record.levels, level) for level in record.levels],
        window_days=rules_of.WINDOW.days,
        updated_at=record.updated_at,
    )


def _loc(param: str) -> list[Any]:
    """``levels[2].min_orders`` -> ``["body", "levels", 2, "min_orders"]``."""
    loc: list[Any] = ["body"]
    for name, index in re.findall(r"([a-z_]+)|\[(\d+)\]", param):
        loc.append(int(index) if index else name)
    return loc


def put_levels(
    shop: str, body: models.DistributionLevelsIn, *, st: Stores = STORES
) -> models.DistributionLevelsOut:
    """Replace the shop's ladder (lowest first). A ladder whose thresholds overlap is 409
    ``overlapping_levels``, any other problem 400; both name the parameter, and nothing is
    written. Distributors move at the next evaluation."""
    levels = tuple(Level(**item.model_dump()) for item in body.levels)
    rules = shops.rules(shop, st)
    highest = max([rules.default_rate_bps, *rules.product_rates_bps.values()])
    problem = rules_of.ladder_problem(levels, rules.parent_rate_bps, highest)
    if problem is not None:
        message = f"{problem.param}: {problem.message}"
        details = [{"loc": _loc(problem.param), "msg": problem.message, "type": problem.code}]
        if problem.code == rules_of.OVERLAP:
            raise Conflict(message, code=rules_of.OVERLAP, details=details)
        raise InvalidRequest(message, details=details)
    record = LevelsRecord(levels, updated_at=clock.iso(clock.now()))
    st.levels.put_ladder(shop, record)
    return _ladder_out(record)


def get_levels(shop: str, *, st: Stores = STORES) -> models.DistributionLevelsOut:
    return _ladder_out(st.levels.get_ladder(shop) or LevelsRecord(()))


# ---- the level in force when paid -----------------------------------------------------------------


def in_force(shop: str, owner: DistributorRecord, paid_at: str, *, st: Stores = STORES) -> Level | None:
    """The level of ``owner`` in force at ``paid_at``, with its current terms (None: the base).

    The distributor item holds the current level since ``level_since``: an order paid then or
    later uses it (no read when the distributor is at the base). An order paid before it (its
    event came late) uses the latest change of the history at or before ``paid_at`` (one
    Query). A level id no longer in the ladder prices at the base."""
    if owner.level_since is None:
        return None
    level_id = owner.level_id
    if paid_at < owner.level_since:
        change = st.levels.change_at(shop, owner.distributor_id, paid_at)
        level_id = change.to_level if change else None
    if level_id is None:
        return None
    return rules_of.find(ladder(shop, st), level_id)


# ---- evaluation ------------------------------------------------------------------------------------


def _finish(shop: str, record: DistributorRecord, st: Stores) -> None:
    """Copy a change a crashed run left in ``level_log`` to the history."""
    if record.level_log:
        st.levels.log_change(shop, LevelChange.from_dict(record.level_log))


def evaluate(shop: str, *, st: Stores = STORES) -> models.DistributionLevelEvaluationOut:
    """Move every distributor of the shop to the level their trailing-window metrics reach
    now (the base below every level), recording each change with the metrics that decided.
    Idempotent: a rerun with the same figures changes nothing."""
    now = clock.now()
    as_of, start = clock.iso(now), clock.iso(now - rules_of.WINDOW)
    found = st.levels.get_ladder(shop)
    counts = {"evaluated": 0, "promoted": 0, "demoted": 0, "unchanged": 0}
    if found is None:  # no ladder was ever set: nobody has a level
        return models.DistributionLevelEvaluationOut(as_of=as_of, window_start=start, **counts)
    levels = found.levels
    records = st.levels.distributors(shop)
    recruits = Counter(
        r.parent_id
        for r in records
        if r.parent_id and r.status == "approved" and r.created_at and start <= r.created_at < as_of
    )
    for record in records:
        _finish(shop, record, st)
        counts["evaluated"] += 1
        if not levels and record.level_id is None:
            counts["unchanged"] += 1
            continue
        sales = performance.figures(
            st.activity.entries_between(shop, record.distributor_id, start, as_of), start, as_of
        )
        metrics = Metrics(sales.gmv_amount, sales.orders, recruits[record.distributor_id])
        target = rules_of.reached(levels, metrics)
        target_id = target.level_id if target else None
        if target_id == record.level_id:
            counts["unchanged"] += 1
            continue
        change = LevelChange(
            distributor_id=record.distributor_id,
            seq=record.level_seq + 1,
            at=as_of,
            from_level=record.level_id,
            to_level=target_id,
            metrics={
                "gmv_amount": metrics.gmv_amount,
                "orders": metrics.orders,
                "recruits": metrics.recruits,
            },
            window_start=start,
        )
        if not st.levels.set_level(shop, change):
            counts["unchanged"] += 1  # another run moved them meanwhile; it recorded its change
            continue
        st.levels.log_change(shop, change)
        up = rules_of.rank(levels, target_id) > rules_of.rank(levels, record.level_id)
        counts["promoted" if up else "demoted"] += 1
    return models.DistributionLevelEvaluationOut(as_of=as_of, window_start=start, **counts)


def evaluate_all_shops(*, st: Stores = STORES) -> dict[str, int]:
    """The daily run: every shop with rules."""
    total = {"shops": 0, "evaluated": 0, "promoted": 0, "demoted": 0}
    for shop in st.shops.list_shops():
        result = evaluate(shop, st=st)
        total["shops"] += 1
        for name in ("evaluated", "promoted", "demoted"):
            total[name] += getattr(result, name)
    return total


# ---- views -----------------------------------------------------------------------------------------


def _change_out(change: LevelChange) -> models.DistributionLevelChangeOut:
    m = change.metrics
    return models.DistributionLevelChangeOut(
        from_level=change.from_level,
        to_level=change.to_level,
        at=change.at,
        metrics=models.DistributionLevelMetricsOut(
            gmv_amount=m.get("gmv_amount", 0), orders=m.get("orders", 0), recruits=m.get("recruits", 0)
        ),
        window_start=change.window_start,
    )


def level_of(
    shop: str, distributor_id: str, *, st: Stores = STORES
) -> models.DistributionDistributorLevelOut:
    """A distributor's current level with its terms, and their history (newest first)."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    levels = ladder(shop, st)
    level = rules_of.find(levels, record.level_id)
    history = st.levels.history(shop, distributor_id, HISTORY_LIMIT)
    if record.level_log and not any(c.seq == record.level_log.get("seq") for c in history):
        history.insert(0, LevelChange.from_dict(record.level_log))  # logged at the next run
    return models.DistributionDistributorLevelOut(
        distributor_id=distributor_id,
        level_id=record.level_id,
        name=level.name if level else None,
        rank=rules_of.rank(levels, record.level_id),
        since=record.level_since,
        rate_bps=level.rate_bps if level else None,
        bonus_bps=level.bonus_bps if level else None,
        history=[_change_out(c) for c in history],
    )
