"""The coupons table, behind one repository per aggregate (``ports`` names them):
``templates`` (terms and lucky amounts), ``stock`` (shards, blocks, redemption counts),
``limits`` (per-customer counts), ``coupons``, ``jobs`` (bulk jobs and their chunk plans)
and ``grants``. ``keys`` builds every key, ``records`` holds the typed records.

No claim or order-event path uses a Query or a transaction: moto scans the table for both,
so their latency would grow with the data (DESIGN.md); every call there is a single-item
write.
"""
