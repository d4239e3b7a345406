"""Orchestration of the rules (``domain``) and the store, one module per area:
``templates``, ``claims`` (claims, stock blocks, grants), ``wallet`` (a customer's coupons,
validate, lock), ``bulk`` (issue jobs and their chunks), ``orders`` (order events),
``revokes``, ``campaign`` (list, pause/resume/end, edit, history), ``links`` (share links),
``codes`` (one-time claim links and exchange codes), ``gifts``, ``budgets`` (discount
budgets), ``invalidations`` (作废 jobs), ``settings`` (the shop's settings).

Every use case takes its repositories as ``Stores`` (``stores=None``: the DynamoDB ones), so
the unit tests run the protocols on in-memory fakes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.coupons.store import ports


def publish(topic: str, message: dict[str, Any]) -> None:
    from campaign_shared import messaging

    messaging.publish(topic, message)


@dataclass(frozen=True)
class Stores:
    templates: ports.Templates
    stock: ports.Stock
    limits: ports.Limits
    coupons: ports.Coupons
    jobs: ports.Jobs
    grants: ports.Grants
    links: ports.ShareLinks
    codes: ports.Codes
    gifts: ports.Gifts
    budgets: ports.Budgets
    invalidations: ports.Invalidations
    settings: ports.ShopSettingsStore
    publish: Callable[[str, dict[str, Any]], None] = publish  # what the service tells others


@functools.cache
def dynamo_stores() -> Stores:
    """The DynamoDB repositories (one set per process: the template caches live in them)."""
    from chalicelib.coupons.store.budgets import DynamoBudgets
    from chalicelib.coupons.store.codes import DynamoCodes
    from chalicelib.coupons.store.coupons import DynamoCoupons
    from chalicelib.coupons.store.gifts import DynamoGifts
    from chalicelib.coupons.store.grants import DynamoGrants
    from chalicelib.coupons.store.invalidations import DynamoInvalidations
    from chalicelib.coupons.store.jobs import DynamoJobs
    from chalicelib.coupons.store.limits import DynamoLimits
    from chalicelib.coupons.store.links import DynamoShareLinks
    from chalicelib.coupons.store.settings import DynamoShopSettings
    from chalicelib.coupons.store.stock import DynamoStock
    from chalicelib.coupons.store.templates import DynamoTemplates

    return Stores(
        DynamoTemplates(),
        DynamoStock(),
        DynamoLimits(),
        DynamoCoupons(),
        DynamoJobs(),
        DynamoGrants(),
        DynamoShareLinks(),
        DynamoCodes(),
        DynamoGifts(),
        DynamoBudgets(),
        DynamoInvalidations(),
        DynamoShopSettings(),
    )


def stores_or_default(stores: Stores | None) -> Stores:
    return stores if stores is not None else dynamo_stores()
