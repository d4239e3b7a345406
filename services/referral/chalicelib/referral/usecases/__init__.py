"""The referral use cases: read through the store, decide in the domain, write through the
store, send through the outbox. Every use case takes ``stores`` (default: the real ones,
``store.stores()``), so the protocols run on fakes in the unit tests.

- ``program``: the shop's program;
- ``codes``: personal codes, channels, their QR codes, resolving a code;
- ``funnel``: visits, signups, ``/me`` and the report;
- ``orders``: order events (attribution, funnel, conversion, voided signups, refunds);
- ``rewards``: grants and revokes, the coupons service's answers and the sweeps.
"""
