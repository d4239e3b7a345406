"""Use cases of /distribution, one module per area, each taking its repositories as ``st``
(``stores.STORES``, the DynamoDB ones, by default):

- ``shops``: the commission rules and the counts of orders that earned nothing;
- ``distributors``: registering, status, and the balance/commission/ledger/leaderboard views;
- ``links``: share links;
- ``orders``: recording payments and refunds (the message consumer's work);
- ``posting``: posting entry groups to balances and the ledger exactly once;
- ``withdrawals`` and ``settlement`` (with reconciliation).
"""

from chalicelib.distribution.usecases import (
    distributors,
    links,
    orders,
    posting,
    settlement,
    shops,
    withdrawals,
)
from chalicelib.distribution.usecases.stores import STORES, Stores

__all__ = [
    "STORES",
    "Stores",
    "distributors",
    "links",
    "orders",
    "posting",
    "settlement",
    "shops",
    "withdrawals",
]
