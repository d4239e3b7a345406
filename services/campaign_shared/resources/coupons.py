"""Resources of the coupons service."""

from campaign_shared.resources.model import GsiSpec, QueueSpec, ServiceSpec, TableSpec

# The bulk-issue queue's logical name (``messaging.send_batch("coupons", ..., queue=BULK_QUEUE)``).
BULK_QUEUE = "bulk"

SPEC = ServiceSpec(
    name="coupons",
    tables=(
        TableSpec(
            logical="main",
            gsis=(
                GsiSpec(name="gsi1", pk="gsi1pk", sk="gsi1sk"),
                # The template's unused coupons by expiry (``unused#<shop>#<template>#<shard>``
                # while a coupon can still be used): its expired ones are counted here.
                GsiSpec(name="gsi2", pk="gsi2pk", sk="expires_at", projection="KEYS_ONLY"),
                # Its coupons locked to an order, by the lock's end: the running locks.
                GsiSpec(name="gsi3", pk="gsi3pk", sk="lock_expires_at", projection="KEYS_ONLY"),
            ),
            ttl_attribute="expires_at_epoch",
        ),
    ),
    queues=(
        # Order events and grants: small messages whose effects are due "within seconds".
        QueueSpec(),
        # Bulk-issue chunks (up to 500 customers each) on their own queue, DLQ and consumer, so
        # a 100,000-customer job never delays an order event. One chunk per invocation (a
        # chunk is already a batch); at most two at once on AWS, leaving the
        # table's capacity and the account's concurrency to the order path.
        QueueSpec(
            logical=BULK_QUEUE,
            consumer="bulk_queue_consumer",
            subscribes_to=(),
            batch_size=1,
            visibility_timeout=360,
            max_concurrency=2,
        ),
    ),
    # Grant results go back to the service that asked (referral, audience); segment exports
    # are asked of the audience service.
    sends_to=("coupons", "referral", "audience"),
    # coupon.redeemed (campaign_shared.coupon_events), for the audience service and webhooks.
    publishes_to=("coupon-events",),
)


def _part(value: str) -> str:
    return value.replace("%", "%25").replace("#", "%23")


def template_key(shop: str, template_id: str) -> dict[str, str]:
    """The key of a coupon template's record in the coupons table: the one piece of that
    table's layout other services may rely on (the referral service checks, read-only and by
    key, that a program names existing templates; see ``ServiceSpec.reads_from``)."""
    return {"pk": "#".join(_part(p) for p in ("tpl", shop, template_id)), "sk": "meta"}
