"""A shop's commission rules and its counts of orders that earned nothing."""

from __future__ import annotations

from dataclasses import asdict

from campaign_shared import clock
from campaign_shared.errors import InvalidRequest
from chalicelib.distribution import domain, models
from chalicelib.distribution.store.records import RulesRecord
from chalicelib.distribution.usecases.stores import STORES, Stores


def _out(record: RulesRecord) -> models.RulesOut:
    return models.RulesOut(**asdict(record.rules), updated_at=record.updated_at)


def put_rules(shop: str, body: models.RulesIn, *, st: Stores = STORES) -> models.RulesOut:
    problem = domain.rules_problem(body.default_rate_bps, body.parent_rate_bps, body.product_rates_bps)
    if problem:
        raise InvalidRequest(problem)
    record = RulesRecord(domain.Rules(**body.model_dump()), updated_at=clock.iso(clock.now()))
    st.shops.put_rules(shop, record)
    return _out(record)


def get_rules(shop: str, *, st: Stores = STORES) -> models.RulesOut:
    return _out(st.shops.get_rules(shop) or RulesRecord(domain.Rules()))


def rules(shop: str, st: Stores) -> domain.Rules:
    """The rules orders of the shop earn by (the defaults until set)."""
    found = st.shops.get_rules(shop)
    return found.rules if found else domain.Rules()


def stats(shop: str, *, st: Stores = STORES) -> models.StatsOut:
    counts = st.shops.get_stats(shop)
    return models.StatsOut(**{f"{reason}_orders": int(counts.get(reason, 0)) for reason in domain.REASONS})
