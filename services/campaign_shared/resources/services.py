"""Which resources each service owns. Each service's tables live in its own module."""

from __future__ import annotations

from campaign_shared.resources import audience, coupons, distribution, events, referral, wishlist
from campaign_shared.resources.model import ServiceSpec, TableSpec, TopicSpec

# Every service stores Powertools idempotency records in a table of its own.
IDEMPOTENCY_TABLE = TableSpec(logical="idempotency", pk="id", sk=None, ttl_attribute="expiration")

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(logical="order-events"),
    TopicSpec(logical="wishlist-events"),
    # coupon.redeemed (campaign_shared.coupon_events), published by the coupons service.
    TopicSpec(logical="coupon-events"),
)


def _with_idempotency(spec: ServiceSpec) -> ServiceSpec:
    return spec.model_copy(update={"tables": (*spec.tables, IDEMPOTENCY_TABLE)})


SERVICES: dict[str, ServiceSpec] = {
    spec.name: _with_idempotency(spec)
    for spec in (events.SPEC, coupons.SPEC, distribution.SPEC, wishlist.SPEC, referral.SPEC, audience.SPEC)
}


def service(name: str) -> ServiceSpec:
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}") from None
