"""Typed records of the distribution table, each with ``from_item`` (a plain dict as
``storage.codec`` reads it) and ``to_item``.

Renamed stored fields (written under the new names, read under both):

- an order's group marks (``applied``: group key -> mark): a claim was
  ``{"s": "claimed", "t": token, "u": until}``, now ``{"status": "claimed", "token": token,
  "until_epoch": until}``; a done mark was ``{"s": "done", "at": at}``, now
  ``{"status": "done", "at": at}``;
- an order's priced lines: ``paid``, ``r1``/``r2`` and ``a1``/``a2`` are now ``paid_amount``,
  ``tier1_rate_bps``/``tier2_rate_bps`` and ``tier1_accrual``/``tier2_accrual``.

Conditions that look into stored marks (``store.orders``) test both spellings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.distribution import domain
from chalicelib.distribution.domain import Entry, Order, PricedLine, Refund
from chalicelib.distribution.domain.statements import MonthTotals
from chalicelib.distribution.store import keys
from chalicelib.distribution.store.marks import (
    CLAIMED,
    DONE,
    MARK_STATUS,
    MARK_TOKEN,
    MARK_UNTIL,
    OLD_MARK_STATUS,
    OLD_MARK_TOKEN,
    OLD_MARK_UNTIL,
    Claim,
    Done,
    Mark,
    mark_from_dict,
)
from chalicelib.distribution.store.withdrawal_record import WithdrawalReceipt, compact, opt_str

_compact = compact


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys.INDEX_ATTRIBUTES}


_opt_str = opt_str


# ---- rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulesRecord:
    rules: domain.Rules
    updated_at: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RulesRecord:
        return cls(domain.Rules.from_dict(_fields(item)), _opt_str(item.get("updated_at")))

    def to_item(self, shop: str) -> dict[str, Any]:
        return {
            "pk": keys.shop_pk(shop),
            "sk": keys.RULES,
            "gsi1pk": keys.SHOPS,
            "gsi1sk": shop,
            "shop": shop,
            **asdict(self.rules),
            "updated_at": self.updated_at,
        }


# ---- ledger entries and withdrawals ---------------------------------------------------------


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """An entry as stored (in the ledger and in a journal): absent ids and zero deltas left out."""
    data = asdict(entry)
    for bucket in domain.BUCKETS:
        if not data[bucket]:
            del data[bucket]
    return _compact(data)


def entry_from_dict(data: dict[str, Any]) -> Entry:
    tier = data.get("tier")
    return Entry(
        entry_id=str(data["entry_id"]),
        kind=str(data["kind"]),
        at=str(data["at"]),
        currency=str(data.get("currency", "CNY")),
        amount=int(data.get("amount", 0)),
        pending=int(data.get("pending", 0)),
        available=int(data.get("available", 0)),
        withdrawn=int(data.get("withdrawn", 0)),
        earned=int(data.get("earned", 0)),
        reserved=int(data.get("reserved", 0)),
        order_id=_opt_str(data.get("order_id")),
        line_id=_opt_str(data.get("line_id")),
        tier=None if tier is None else int(tier),
        refund_id=_opt_str(data.get("refund_id")),
        withdrawal_id=_opt_str(data.get("withdrawal_id")),
        paid_amount=_opt_int(data.get("paid_amount")),
        customer_id=_opt_str(data.get("customer_id")),
        rate_bps=_opt_int(data.get("rate_bps")),
        level=_opt_str(data.get("level")),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def entry_item(shop: str, distributor_id: str, entry: Entry) -> dict[str, Any]:
    return {
        "pk": keys.dist_pk(shop, distributor_id),
        "sk": keys.entry_sk(entry.at, entry.entry_id),
        **entry_to_dict(entry),
    }


# ---- distributors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalGroup:
    """A group applied to a balance whose entries may not be written yet (``token``: the
    claim of the delivery that applied it, for an order's group)."""

    at: int
    entries: tuple[Entry, ...]
    receipt: WithdrawalReceipt | None = None
    token: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalGroup:
        receipt = data.get("receipt")
        return cls(
            at=int(data.get("at", 0)),
            entries=tuple(entry_from_dict(e) for e in data.get("entries") or []),
            receipt=WithdrawalReceipt.from_item(receipt) if receipt else None,
            token=_opt_str(data.get("token")),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "entries": [entry_to_dict(e) for e in self.entries]}
        if self.receipt is not None:
            out["receipt"] = self.receipt.to_dict()
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass(frozen=True)
class DistributorRecord:
    """A distributor: profile, the five balances, ``version`` and the journal."""

    distributor_id: str
    status: str
    currency: str = "CNY"
    parent_id: str | None = None
    created_at: str | None = None
    status_changed_at: str | None = None
    pending: int = 0
    available: int = 0
    withdrawn: int = 0
    earned: int = 0
    reserved: int = 0
    version: int = 0
    journal: dict[str, JournalGroup] = field(default_factory=dict)
    months: dict[str, MonthTotals] = field(default_factory=dict)  # see domain.statements
    months_from: str | None = None
    # The level (``store.levels``): current level id (None: the base), since when, and the
    # change not yet copied to the history (``level_log``; see ``usecases.levels``).
    level_id: str | None = None
    level_since: str | None = None
    level_seq: int = 0
    level_log: dict[str, Any] | None = None

    @property
    def member(self) -> domain.Member:
        return domain.Member(self.distributor_id, self.status)

    def balance(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "available": self.available,
            "withdrawn": self.withdrawn,
            "earned": self.earned,
            "reserved": self.reserved,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> DistributorRecord:
        return cls(
            distributor_id=str(item["distributor_id"]),
            status=str(item.get("status")),
            currency=str(item.get("currency", "CNY")),
            parent_id=_opt_str(item.get("parent_id")),
            created_at=_opt_str(item.get("created_at")),
            status_changed_at=_opt_str(item.get("status_changed_at")),
            pending=int(item.get("pending", 0)),
            available=int(item.get("available", 0)),
            withdrawn=int(item.get("withdrawn", 0)),
            earned=int(item.get("earned", 0)),
            reserved=int(item.get("reserved", 0)),
            version=int(item.get("version", 0)),
            journal={k: JournalGroup.from_dict(v) for k, v in (item.get("journal") or {}).items()},
            months={k: MonthTotals.from_list(v) for k, v in (item.get("months") or {}).items()},
            months_from=_opt_str(item.get("months_from")),
            level_id=_opt_str(item.get("level_id")),
            level_since=_opt_str(item.get("level_since")),
            level_seq=int(item.get("level_seq", 0)),
            level_log=item.get("level_log") or None,
        )

    def to_item(self, shop: str) -> dict[str, Any]:
        journal = {k: v.to_dict() for k, v in self.journal.items()}
        months = {k: v.to_list() for k, v in self.months.items()}
        return {
            "pk": keys.dist_pk(shop, self.distributor_id),
            "sk": keys.DISTRIBUTOR,
            "gsi1pk": keys.board_pk(shop),
            "gsi1sk": domain.rank_key(self.earned, self.distributor_id),
            **_compact(asdict(self) | {"journal": journal, "months": months}),
        }


# ---- links -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkRecord:
    code: str
    distributor_id: str
    product_id: str | None
    created_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LinkRecord:
        return cls(
            code=str(item["code"]),
            distributor_id=str(item["distributor_id"]),
            product_id=_opt_str(item.get("product_id")),
            created_at=str(item.get("created_at", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        return _compact(asdict(self))


# ---- orders --------------------------------------------------------------------------------------


def line_to_dict(line: PricedLine) -> dict[str, Any]:
    data = asdict(line)
    if data["level"] is None:
        del data["level"]  # lines without a level are stored as they always were
    return data


def line_from_dict(data: dict[str, Any]) -> PricedLine:
    def pick(new: str, old: str) -> int:
        return int(data[new] if new in data else data[old])

    return PricedLine(
        line_id=str(data["line_id"]),
        product_id=str(data["product_id"]),
        paid_amount=pick("paid_amount", "paid"),
        tier1_rate_bps=pick("tier1_rate_bps", "r1"),
        tier2_rate_bps=pick("tier2_rate_bps", "r2"),
        tier1_accrual=pick("tier1_accrual", "a1"),
        tier2_accrual=pick("tier2_accrual", "a2"),
        level=_opt_str(data.get("level")),
    )


def refund_to_dict(refund: Refund) -> dict[str, Any]:
    return {"seq": refund.seq, "at": refund.at, "lines": dict(refund.lines), "phase": refund.phase}


def refund_from_dict(data: dict[str, Any]) -> Refund:
    return Refund(
        seq=int(data["seq"]),
        at=str(data["at"]),
        lines={k: int(v) for k, v in (data.get("lines") or {}).items()},
        phase=_opt_str(data.get("phase")),
    )


# The facts of an order, written on every save (``None``: removed).
BUSINESS_FIELDS = (
    "state",
    "reason",
    "customer_id",
    "currency",
    "code",
    "tier1",
    "tier2",
    "paid_at",
    "settle_due_at",
    "settled_at",
    "lines",
    "refunds",
)


def business_fields(order: Order) -> dict[str, Any]:
    """The stored values of ``BUSINESS_FIELDS`` (``None`` where absent)."""
    data = {name: getattr(order, name) for name in BUSINESS_FIELDS}
    data["lines"] = [line_to_dict(line) for line in order.lines]
    data["refunds"] = {rid: refund_to_dict(r) for rid, r in order.refunds.items()}
    return data


@dataclass(frozen=True)
class OrderRecord:
    """An order's facts and the marks of its groups (claims and done marks)."""

    order: Order
    applied: dict[str, Mark] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OrderRecord:
        marks = {k: mark_from_dict(v) for k, v in (item.get("applied") or {}).items()}
        order = Order(
            shop=str(item["shop"]),
            order_id=str(item["order_id"]),
            version=int(item.get("version", 0)),
            state=str(item.get("state", domain.UNPAID)),
            reason=_opt_str(item.get("reason")),
            customer_id=_opt_str(item.get("customer_id")),
            currency=_opt_str(item.get("currency")),
            code=_opt_str(item.get("code")),
            tier1=_opt_str(item.get("tier1")),
            tier2=_opt_str(item.get("tier2")),
            paid_at=_opt_str(item.get("paid_at")),
            settle_due_at=_opt_str(item.get("settle_due_at")),
            settled_at=_opt_str(item.get("settled_at")),
            lines=tuple(line_from_dict(line) for line in item.get("lines") or []),
            refunds={k: refund_from_dict(v) for k, v in (item.get("refunds") or {}).items()},
        )
        return cls(order=order, applied={k: m for k, m in marks.items() if m is not None})


__all__ = [
    "CLAIMED",
    "DONE",
    "MARK_STATUS",
    "MARK_TOKEN",
    "MARK_UNTIL",
    "OLD_MARK_STATUS",
    "OLD_MARK_TOKEN",
    "OLD_MARK_UNTIL",
    "Claim",
    "Done",
    "Mark",
    "WithdrawalReceipt",
    "mark_from_dict",
]
