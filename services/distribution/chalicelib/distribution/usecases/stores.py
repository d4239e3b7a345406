"""The repositories a use case works with, injected: ``STORES`` (the DynamoDB ones) by
default, fakes in unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.distribution.store.activity import Activity
from chalicelib.distribution.store.bindings import Bindings
from chalicelib.distribution.store.distributors import Distributors
from chalicelib.distribution.store.ledger import Ledger
from chalicelib.distribution.store.levels import Levels
from chalicelib.distribution.store.links import Links
from chalicelib.distribution.store.orders import Orders
from chalicelib.distribution.store.ports import (
    ActivityPort,
    BindingsPort,
    DistributorsPort,
    LedgerPort,
    LevelsPort,
    LinksPort,
    OrdersPort,
    ShopsPort,
    WithdrawalsPort,
)
from chalicelib.distribution.store.shops import Shops
from chalicelib.distribution.store.withdrawals import Withdrawals


@dataclass
class Stores:
    shops: ShopsPort = field(default_factory=Shops)
    distributors: DistributorsPort = field(default_factory=Distributors)
    ledger: LedgerPort = field(default_factory=Ledger)
    withdrawals: WithdrawalsPort = field(default_factory=Withdrawals)
    links: LinksPort = field(default_factory=Links)
    orders: OrdersPort = field(default_factory=Orders)
    bindings: BindingsPort = field(default_factory=Bindings)
    levels: LevelsPort = field(default_factory=Levels)
    activity: ActivityPort = field(default_factory=Activity)


STORES = Stores()
