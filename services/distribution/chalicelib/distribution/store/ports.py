"""The repositories the use cases depend on, one ``Protocol`` each. ``store.<aggregate>``
implements them over DynamoDB; ``tests/unit/distribution/fakes.py`` in memory, with the same
conditions (a refused condition answers False, never raises)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from campaign_shared.storage.paging import PageParams
from chalicelib.distribution.domain import Entry, Order
from chalicelib.distribution.domain.statements import MonthTotals
from chalicelib.distribution.store.bindings import BindingChange, BindingRecord
from chalicelib.distribution.store.records import (
    Claim,
    DistributorRecord,
    JournalGroup,
    LinkRecord,
    OrderRecord,
    RulesRecord,
    WithdrawalReceipt,
)


class ShopsPort(Protocol):
    def get_rules(self, shop: str) -> RulesRecord | None: ...
    def put_rules(self, shop: str, record: RulesRecord) -> None: ...
    def list_shops(self) -> list[str]: ...
    def bump_stat(self, shop: str, name: str) -> None: ...
    def get_stats(self, shop: str) -> dict[str, int]: ...


class DistributorsPort(Protocol):
    def get(self, shop: str, distributor_id: str) -> DistributorRecord | None: ...
    def get_many(self, shop: str, distributor_ids: list[str]) -> list[DistributorRecord]: ...
    def create(self, shop: str, record: DistributorRecord) -> bool: ...
    def set_status(
        self, shop: str, distributor_id: str, status: str, at: str
    ) -> DistributorRecord | None: ...
    def write_balance(
        self,
        shop: str,
        distributor_id: str,
        *,
        version: int,
        balance: dict[str, int],
        group_id: str,
        journal: JournalGroup,
        status: str | None = None,
        prune: tuple[str, ...] = (),
        months: dict[str, MonthTotals] | None = None,
        months_from: str | None = None,
    ) -> bool: ...
    def finish_group(self, shop: str, distributor_id: str, group_id: str) -> None: ...
    def board_page(self, shop: str, page: PageParams) -> tuple[list[DistributorRecord], str | None]: ...


class LedgerPort(Protocol):
    def put_entries(self, shop: str, distributor_id: str, entries: Iterable[Entry]) -> None: ...
    def put_many(self, entries: Iterable[tuple[str, Entry]], shop: str) -> None: ...
    def written(self, shop: str, entries: Iterable[tuple[str, Entry]]) -> set[tuple[str, str]]: ...
    def all_entries(self, shop: str, distributor_id: str) -> list[Entry]: ...
    def entries_before(self, shop: str, distributor_id: str, end: str) -> list[Entry]: ...
    def entries_page(
        self, shop: str, distributor_id: str, page: PageParams, kind: str | None
    ) -> tuple[list[Entry], str | None]: ...


class WithdrawalsPort(Protocol):
    def get(self, shop: str, distributor_id: str, withdrawal_id: str) -> WithdrawalReceipt | None: ...
    def put(self, shop: str, distributor_id: str, receipt: WithdrawalReceipt) -> None: ...
    def transition(
        self,
        shop: str,
        distributor_id: str,
        withdrawal_id: str,
        *,
        source: str,
        target: str,
        changes: dict[str, str],
        at: str,
        claim: Claim | None,
    ) -> bool: ...
    def take_over(
        self, shop: str, distributor_id: str, withdrawal_id: str, old_token: str, claim: Claim
    ) -> bool: ...
    def release(self, shop: str, distributor_id: str, withdrawal_id: str, token: str) -> None: ...
    def mark_posted(self, shop: str, distributor_id: str, withdrawal_id: str, at: str) -> None: ...
    def queue_page(
        self, shop: str, status: str, start: str, end: str, page: PageParams
    ) -> tuple[list[WithdrawalReceipt], str | None]: ...


class BindingsPort(Protocol):
    def get(self, shop: str, customer_id: str) -> BindingRecord | None: ...
    def put(self, shop: str, record: BindingRecord, expected_version: int) -> bool: ...
    def count_order(
        self,
        shop: str,
        customer_id: str,
        distributor_id: str,
        order_id: str,
        gmv: int,
        paid_epoch: int,
        forget: tuple[str, ...] = (),
    ) -> bool: ...
    def history(self, shop: str, customer_id: str) -> list[BindingChange]: ...
    def of_distributor(
        self, shop: str, distributor_id: str, page: PageParams
    ) -> tuple[list[BindingRecord], str | None]: ...


class LinksPort(Protocol):
    def get(self, shop: str, code: str) -> LinkRecord | None: ...
    def get_owned(self, shop: str, distributor_id: str, product_id: str | None) -> LinkRecord | None: ...
    def create(self, shop: str, link: LinkRecord) -> bool: ...


class OrdersPort(Protocol):
    def get(self, shop: str, order_id: str) -> OrderRecord | None: ...
    def get_many(self, shop: str, order_ids: Iterable[str]) -> list[OrderRecord]: ...
    def save(self, order: Order, expected_version: int, now_epoch: int, claims: dict[str, Claim]) -> bool: ...
    def claim_group(self, shop: str, order_id: str, group: str, claim: Claim, now_epoch: int) -> bool: ...
    def release_group(self, shop: str, order_id: str, group: str, token: str) -> None: ...
    def mark_done(
        self,
        shop: str,
        order_id: str,
        groups: list[str],
        at: str,
        *,
        unindex: bool = False,
    ) -> None: ...
    def due_orders(self, shop: str, as_of: str, limit: int) -> list[str]: ...
