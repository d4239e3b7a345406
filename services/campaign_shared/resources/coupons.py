"""Resources of the coupons service."""

from campaign_shared.resources.model import GsiSpec, QueueSpec, ServiceSpec, TableSpec

SPEC = ServiceSpec(
    name="coupons",
    tables=(
        TableSpec(
            logical="main",
            gsis=(GsiSpec(name="gsi1", pk="gsi1pk", sk="gsi1sk"),),
            ttl_attribute="expires_at_epoch",
        ),
    ),
    queue=QueueSpec(),
    # Grant results go back to the service that asked (referral).
    sends_to=("coupons", "referral"),
)
