"""Resources of the referral service.

- ``main``: channels, the program, per-customer state (binding, attribution, order tallies,
  referrer counters) and rewards. GSI ``gsi1`` is the sparse index of rewards whose grant has
  not been answered yet.
- ``codes``: every code of a shop in one item collection (``codes#{shop}`` / ``{code}``): a
  code is found by GetItem and the report pages through the collection with a plain Query.
- ``stats``: the funnel counters, one summary item per code plus ``VISIT_SHARDS`` visit
  shards per code (a hot channel's visits spread over several partitions). Small: it is the
  table order-event transactions touch besides ``main``.
- ``visitors``: one marker per (shop, code, visitor_id) so unique visitors are counted once.
  Large and never in a transaction.
"""

from campaign_shared.resources.model import GsiSpec, QueueSpec, ServiceSpec, TableSpec

SPEC = ServiceSpec(
    name="referral",
    tables=(
        TableSpec(
            logical="main",
            gsis=(GsiSpec(name="gsi1", pk="gsi1pk", sk="gsi1sk"),),
            ttl_attribute="expires_at_epoch",
        ),
        TableSpec(logical="codes"),
        TableSpec(logical="stats"),
        TableSpec(logical="visitors", sk=None),
    ),
    queues=(QueueSpec(),),
    sends_to=("coupons",),
    # A program must name existing coupon templates: key-only GetItem on the coupons table.
    reads_from=(("coupons", "main"),),
)
