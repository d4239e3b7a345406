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


def _part(value: str) -> str:
    return value.replace("%", "%25").replace("#", "%23")


def template_key(shop: str, template_id: str) -> dict[str, str]:
    """The key of a coupon template's record in the coupons table: the one piece of that
    table's layout other services may rely on (the referral service checks, read-only and by
    key, that a program names existing templates; see ``ServiceSpec.reads_from``)."""
    return {"pk": "#".join(_part(p) for p in ("tpl", shop, template_id)), "sk": "meta"}
