"""Resources of the audience service (profiles, tags, segments, repurchase counters).

- ``main``: one profile per (shop, customer) in ``PROFILE_SHARDS`` item collections per shop
  (``cust#{shop}#{shard}`` / ``{customer}``), so the profiles of a shop are read by a Query
  per shard (jobs only, never a request), a profile by its key; tag memberships; segment
  definitions and their materialized member snapshots; bulk-tag jobs and segment exports.
- ``stats``: the repurchase counters (one item per first-order day and acquisition) and the
  tag counts. Small: what the report reads.
"""

from campaign_shared.resources.model import QueueSpec, ServiceSpec, TableSpec

SPEC = ServiceSpec(
    name="audience",
    tables=(TableSpec(logical="main"), TableSpec(logical="stats")),
    queues=(QueueSpec(subscribes_to=("order-events", "coupon-events")),),
    # Coupon grants of automations go to the coupons service's main queue, member chunks of
    # segment exports to its bulk queue.
    sends_to=("coupons", "coupons:bulk"),
    # An automation must name an existing coupon template: key-only GetItem on the coupons table.
    reads_from=(("coupons", "main"),),
)
