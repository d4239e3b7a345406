"""Resources of the order-event producer (``/events``)."""

from campaign_shared.resources.model import ServiceSpec, TableSpec

# ``event#<shop>#<event_id>``: one record per accepted event, so a duplicate is harmless.
SPEC = ServiceSpec(
    name="events",
    tables=(TableSpec(logical="main", ttl_attribute="expires_at_epoch"),),
    publishes_to=("order-events",),
)
