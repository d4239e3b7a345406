"""In-memory repositories of the distribution service, honouring the same conditions as the
DynamoDB ones (``chalicelib.distribution.store``): a refused condition answers False (never
raises), versions guard balance and order writes, and a save retried after a lost answer
recognises its own claim token. ``Faults`` makes a repository call fail once, before or
after it takes effect (a crash, or an answer lost on the way back)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from campaign_shared.storage.paging import PageParams
from chalicelib.distribution.domain import PAID, Entry, Order
from chalicelib.distribution.domain.statements import MonthTotals
from chalicelib.distribution.store.bindings import BindingChange, BindingRecord
from chalicelib.distribution.store.records import (
    Claim,
    DistributorRecord,
    Done,
    JournalGroup,
    LinkRecord,
    OrderRecord,
    RulesRecord,
    WithdrawalReceipt,
)
from chalicelib.distribution.usecases.stores import Stores

from .fakes_levels import FakeActivity, FakeLevels


class FakeShops:
    def __init__(self) -> None:
        self.rules: dict[str, RulesRecord] = {}
        self.stats: dict[str, dict[str, int]] = {}

    def get_rules(self, shop: str) -> RulesRecord | None:
        return self.rules.get(shop)

    def put_rules(self, shop: str, record: RulesRecord) -> None:
        self.rules[shop] = record

    def list_shops(self) -> list[str]:
        return sorted(self.rules)

    def bump_stat(self, shop: str, name: str) -> None:
        counts = self.stats.setdefault(shop, {})
        counts[name] = counts.get(name, 0) + 1

    def get_stats(self, shop: str) -> dict[str, int]:
        return dict(self.stats.get(shop, {}))


class FakeDistributors:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], DistributorRecord] = {}

    def get(self, shop: str, distributor_id: str) -> DistributorRecord | None:
        return self.items.get((shop, distributor_id))

    def get_many(self, shop: str, distributor_ids: list[str]) -> list[DistributorRecord]:
        return [r for d in dict.fromkeys(distributor_ids) if (r := self.items.get((shop, d))) is not None]

    def create(self, shop: str, record: DistributorRecord) -> bool:
        if (shop, record.distributor_id) in self.items:
            return False
        self.items[(shop, record.distributor_id)] = record
        return True

    def set_status(self, shop: str, distributor_id: str, status: str, at: str) -> DistributorRecord | None:
        found = self.items.get((shop, distributor_id))
        if found is None:
            return None
        self.items[(shop, distributor_id)] = replace(found, status=status, status_changed_at=at)
        return self.items[(shop, distributor_id)]

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
    ) -> bool:
        found = self.items.get((shop, distributor_id))
        if found is None or found.version != version or (status is not None and found.status != status):
            return False
        self.items[(shop, distributor_id)] = replace(
            found,
            pending=balance["pending"],
            available=balance["available"],
            withdrawn=balance["withdrawn"],
            earned=balance["earned"],
            reserved=balance["reserved"],
            version=version + 1,
            journal={**{k: v for k, v in found.journal.items() if k not in prune}, group_id: journal},
            months=found.months if months is None else dict(months),
            months_from=found.months_from if months is None else months_from,
        )
        return True

    def finish_group(self, shop: str, distributor_id: str, group_id: str) -> None:
        found = self.items.get((shop, distributor_id))
        if found is not None and group_id in found.journal:
            journal = {k: v for k, v in found.journal.items() if k != group_id}
            self.items[(shop, distributor_id)] = replace(found, journal=journal)

    def board_page(self, shop: str, page: PageParams) -> tuple[list[DistributorRecord], str | None]:
        mine = [r for (s, _), r in self.items.items() if s == shop]
        mine.sort(key=lambda r: (max(r.earned, 0), r.distributor_id), reverse=True)
        return mine[: page.limit], None


class FakeLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, Entry]] = {}
        self.writes = 0

    def put_entries(self, shop: str, distributor_id: str, entries: Iterable[Entry]) -> None:
        book = self.entries.setdefault((shop, distributor_id), {})
        for entry in entries:
            self.writes += 1
            book.setdefault(entry.entry_id, entry)

    def put_many(self, entries: Iterable[tuple[str, Entry]], shop: str) -> None:
        for distributor_id, entry in entries:
            self.writes += 1
            self.entries.setdefault((shop, distributor_id), {}).setdefault(entry.entry_id, entry)

    def written(self, shop: str, entries: Iterable[tuple[str, Entry]]) -> set[tuple[str, str]]:
        return {(who, e.entry_id) for who, e in entries if e.entry_id in self.entries.get((shop, who), {})}

    def all_entries(self, shop: str, distributor_id: str) -> list[Entry]:
        book = self.entries.get((shop, distributor_id), {})
        return sorted(book.values(), key=lambda e: (e.at, e.entry_id))

    def entries_before(self, shop: str, distributor_id: str, end: str) -> list[Entry]:
        return [e for e in self.all_entries(shop, distributor_id) if e.at < end]

    def entries_page(
        self, shop: str, distributor_id: str, page: PageParams, kind: str | None
    ) -> tuple[list[Entry], str | None]:
        found = [
            e for e in reversed(self.all_entries(shop, distributor_id)) if kind is None or e.kind == kind
        ]
        return found[: page.limit], None


class FakeWithdrawals:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], WithdrawalReceipt] = {}

    def get(self, shop: str, distributor_id: str, withdrawal_id: str) -> WithdrawalReceipt | None:
        return self.items.get((shop, distributor_id, withdrawal_id))

    def put(self, shop: str, distributor_id: str, receipt: WithdrawalReceipt) -> None:
        self.items.setdefault((shop, distributor_id, receipt.withdrawal_id), receipt)

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
    ) -> bool:
        key = (shop, distributor_id, withdrawal_id)
        found = self.items.get(key)
        if found is None or found.status != source:
            return bool(found and claim and found.status == target and found.posting == claim)
        posting = claim if claim is not None else found.posting
        self.items[key] = replace(found, status=target, updated_at=at, posting=posting, **changes)  # type: ignore[arg-type]
        return True

    def take_over(
        self, shop: str, distributor_id: str, withdrawal_id: str, old_token: str, claim: Claim
    ) -> bool:
        key = (shop, distributor_id, withdrawal_id)
        found = self.items.get(key)
        if found is None or not isinstance(found.posting, Claim) or found.posting.token != old_token:
            return bool(found and found.posting == claim)
        self.items[key] = replace(found, posting=claim)
        return True

    def release(self, shop: str, distributor_id: str, withdrawal_id: str, token: str) -> None:
        key = (shop, distributor_id, withdrawal_id)
        found = self.items.get(key)
        if found is not None and isinstance(found.posting, Claim) and found.posting.token == token:
            self.items[key] = replace(found, posting=Claim(token, 0))

    def mark_posted(self, shop: str, distributor_id: str, withdrawal_id: str, at: str) -> None:
        key = (shop, distributor_id, withdrawal_id)
        found = self.items.get(key)
        if found is not None:
            self.items[key] = replace(found, posting=Done(at))

    def queue_page(
        self, shop: str, status: str, start: str, end: str, page: PageParams
    ) -> tuple[list[WithdrawalReceipt], str | None]:
        found = sorted(
            (r for (s, _, _), r in self.items.items() if s == shop and r.status == status),
            key=lambda r: (r.created_at, r.distributor_id or "", r.withdrawal_id),
        )
        return [r for r in found if start <= r.created_at <= end + "~"][: page.limit], None


class FakeBindings:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], BindingRecord] = {}
        self.changes: dict[tuple[str, str], list[BindingChange]] = {}

    def get(self, shop: str, customer_id: str) -> BindingRecord | None:
        return self.items.get((shop, customer_id))

    def put(self, shop: str, record: BindingRecord, expected_version: int) -> bool:
        found = self.items.get((shop, record.customer_id))
        if (found.version if found else 0) != expected_version:
            return False
        self.items[(shop, record.customer_id)] = record
        return True

    def count_order(
        self,
        shop: str,
        customer_id: str,
        distributor_id: str,
        order_id: str,
        gmv: int,
        paid_epoch: int,
        forget: tuple[str, ...] = (),
    ) -> bool:
        found = self.items.get((shop, customer_id))
        if found is None or found.distributor_id != distributor_id or order_id in found.counted:
            return False
        counted = {k: v for k, v in found.counted.items() if k not in forget}
        self.items[(shop, customer_id)] = replace(
            found,
            orders=found.orders + 1,
            gmv_amount=found.gmv_amount + gmv,
            counted={**counted, order_id: paid_epoch},
        )
        return True

    def history(self, shop: str, customer_id: str) -> list[BindingChange]:
        return list(self.changes.get((shop, customer_id), []))  # audit items of older releases

    def of_distributor(
        self, shop: str, distributor_id: str, page: PageParams
    ) -> tuple[list[BindingRecord], str | None]:
        found = [r for (s, _), r in self.items.items() if s == shop and r.distributor_id == distributor_id]
        found.sort(key=lambda r: (r.bound_at, r.customer_id), reverse=True)
        return found[: page.limit], None


class FakeLinks:
    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], LinkRecord] = {}
        self.owned: dict[tuple[str, str, str | None], LinkRecord] = {}

    def get(self, shop: str, code: str) -> LinkRecord | None:
        return self.codes.get((shop, code))

    def get_owned(self, shop: str, distributor_id: str, product_id: str | None) -> LinkRecord | None:
        return self.owned.get((shop, distributor_id, product_id))

    def create(self, shop: str, link: LinkRecord) -> bool:
        if self.codes.get((shop, link.code), link) != link:
            return False
        self.codes[(shop, link.code)] = link
        owned_key = (shop, link.distributor_id, link.product_id)
        if self.owned.get(owned_key, link) != link:
            del self.codes[(shop, link.code)]
            return False
        self.owned[owned_key] = link
        return True


class FakeOrders:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], OrderRecord] = {}
        self.indexed: set[tuple[str, str]] = set()  # the settlement index

    def get(self, shop: str, order_id: str) -> OrderRecord | None:
        return self.items.get((shop, order_id))

    def get_many(self, shop: str, order_ids: Iterable[str]) -> list[OrderRecord]:
        return [r for o in dict.fromkeys(order_ids) if (r := self.items.get((shop, o))) is not None]

    def save(self, order: Order, expected_version: int, now_epoch: int, claims: dict[str, Claim]) -> bool:
        key = (order.shop, order.order_id)
        found = self.items.get(key)
        if (found is None) != (expected_version == 0) or (found and found.order.version != expected_version):
            own = next(iter(claims.items()), None)
            return (
                found is not None
                and own is not None
                and found.order.version == order.version
                and found.applied.get(own[0]) == own[1]
            )
        applied = {**(found.applied if found else {}), **claims}
        self.items[key] = OrderRecord(order, applied)
        if order.state == PAID and not order.settled_at:
            self.indexed.add(key)
        elif order.state != PAID:
            self.indexed.discard(key)
        return True

    def claim_group(self, shop: str, order_id: str, group: str, claim: Claim, now_epoch: int) -> bool:
        found = self.items.get((shop, order_id))
        if found is None:
            return False
        mark = found.applied.get(group)
        free = mark is None or (
            isinstance(mark, Claim) and (mark.until_epoch < now_epoch or mark.token == claim.token)
        )
        if free:
            self.items[(shop, order_id)] = replace(found, applied={**found.applied, group: claim})
        return free

    def release_group(self, shop: str, order_id: str, group: str, token: str) -> None:
        found = self.items.get((shop, order_id))
        mark = found.applied.get(group) if found else None
        if found is not None and isinstance(mark, Claim) and mark.token == token:
            self.items[(shop, order_id)] = replace(
                found, applied={k: v for k, v in found.applied.items() if k != group}
            )

    def mark_done(
        self,
        shop: str,
        order_id: str,
        groups: list[str],
        at: str,
        *,
        unindex: bool = False,
    ) -> None:
        found = self.items[(shop, order_id)]
        applied = {**found.applied, **{group: Done(at) for group in groups}}
        self.items[(shop, order_id)] = replace(found, applied=applied)
        if unindex:
            self.indexed.discard((shop, order_id))

    def due_orders(self, shop: str, as_of: str, limit: int) -> list[str]:
        due = sorted(
            (record.order.settle_due_at or "", order_id)
            for (s, order_id), record in self.items.items()
            if s == shop and (s, order_id) in self.indexed and (record.order.settle_due_at or "") <= as_of
        )
        return [order_id for _, order_id in due[:limit]]


def fake_stores() -> Stores:
    distributors = FakeDistributors()
    ledger = FakeLedger()
    levels = FakeLevels(distributors)
    return Stores(
        shops=FakeShops(),
        distributors=distributors,
        ledger=ledger,
        withdrawals=FakeWithdrawals(),
        links=FakeLinks(),
        orders=FakeOrders(),
        bindings=FakeBindings(),
        levels=levels,
        activity=FakeActivity(ledger),
    )


class Faults:
    """Make the next call of a repository method fail once: ``crash`` before it takes effect,
    ``lose_answer`` after (the write is applied, the caller sees an error)."""

    def __init__(self, monkeypatch: Any) -> None:
        self._monkeypatch = monkeypatch

    def _once(self, repo: object, method: str, before: bool, error: BaseException) -> list[int]:
        real: Callable[..., Any] = getattr(repo, method)
        fired: list[int] = []

        def failing(*args: Any, **kwargs: Any) -> Any:
            if fired:
                return real(*args, **kwargs)
            fired.append(1)
            if not before:
                real(*args, **kwargs)
            raise error

        self._monkeypatch.setattr(repo, method, failing)
        return fired

    def crash(self, repo: object, method: str, error: BaseException | None = None) -> list[int]:
        return self._once(repo, method, True, error or ConnectionError("crashed"))

    def lose_answer(self, repo: object, method: str) -> list[int]:
        return self._once(repo, method, False, ConnectionError("the answer was lost"))
