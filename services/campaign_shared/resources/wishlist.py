"""Resources of the wishlist service."""

from campaign_shared.resources.model import GsiSpec, QueueSpec, ServiceSpec, TableSpec

SPEC = ServiceSpec(
    name="wishlist",
    tables=(
        TableSpec(
            logical="main",
            gsis=(GsiSpec(name="gsi1", pk="gsi1pk", sk="gsi1sk"),),
            ttl_attribute="expires_at_epoch",
        ),
    ),
    queues=(QueueSpec(),),
    publishes_to=("wishlist-events",),
)
