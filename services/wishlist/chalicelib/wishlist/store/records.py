"""Typed records of the wishlist table and their stored form (the one place that knows it).

Stored names, old and new. A record reads both; new writes use the new name:

==============================  ====================  =============================================
stored (before)                 stored (now)          why
==============================  ====================  =============================================
item ``qty``                    ``quantity``          written when the item is added; every
                                                      versioned save of the item rewrites it
item ``fulfilled_q``            ``fulfilled_quantity``  rewritten by every versioned save
hold ``"<q>|<exp>|<by>"``       ``{"quantity", "expires_at", "friend"}`` (JSON string)
fill ``lq amt g rf by at n``    ``line_quantity paid_amount granted refunds buyer paid_at notified``
order line ``line_q``           ``line_quantity``     written once per paid line
item ``avail``, ``ver``         kept                  see below
==============================  ====================  =============================================

``avail`` and ``ver`` keep their stored names; only the record calls them ``available`` and
``version``. They are what the conditions test: a reservation is one conditional write
``avail >= :need`` with no read, and every other change of an item is guarded by
``ver = :ver``. Renaming them would leave items of both formats side by side, each write
testing the one name it knows: an old item would refuse every reservation until something
migrated it (a read on the hot path), and two writers checking different version attributes
could both succeed. Names that no condition reads (``qty``, ``fulfilled_q``, the hold and
fill encodings, ``line_q``) are renamed: old values are read as they are, and the item's
versioned save rewrites them in the new form (and removes the old attribute) under ``ver``.

An item's fixed description is one JSON attribute (``info``) and a hold one string: a read
costs per attribute value in moto's serializer (DESIGN.md: keep the local stack fast).
Fields a projection leaves out keep their defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.wishlist.domain import Fill, Hold, ItemState
from chalicelib.wishlist.store import keys

# The item's fixed description, packed in ``info``.
INFO_FIELDS = ("item_id", "list_id", "product_id", "name", "unit_amount", "added_at")
# What a friend's view reads: no owner, no fills, no buyer (old and new names of renamed fields).
PUBLIC_FIELDS = (
    "list_id",
    "title",
    "occasion",
    "share_token",
    "info",
    "quantity",
    "qty",
    "fulfilled_quantity",
    "fulfilled_q",
    "holds",
)
OWNER_FIELDS = (*PUBLIC_FIELDS, "owner", "surprise", "created_at", "item_count", "fills")
# Attributes an item's versioned save removes once it has written their new names.
LEGACY_ITEM_ATTRIBUTES = ("qty", "fulfilled_q")


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


# ---- lists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRecord:
    shop: str
    list_id: str
    owner: str
    title: str
    occasion: str | None
    surprise: bool
    created_at: str
    item_count: int = 0
    share_token: str | None = None

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": keys.list_pk(self.shop, self.list_id),
            "sk": keys.LIST_SK,
            "shop": self.shop,
            "list_id": self.list_id,
            "owner": self.owner,
            "title": self.title,
            "occasion": self.occasion,
            "surprise": self.surprise,
            "created_at": self.created_at,
            "item_count": self.item_count,
            "gsi1pk": keys.owner_pk(self.shop, self.owner),
            "gsi1sk": keys.owner_list_sk(self.created_at, self.list_id),
        }

    @classmethod
    def from_item(cls, data: dict[str, Any]) -> ListRecord:
        return cls(
            shop=data.get("shop", ""),
            list_id=data["list_id"],
            owner=data.get("owner", ""),
            title=data["title"],
            occasion=data.get("occasion"),
            surprise=bool(data.get("surprise")),
            created_at=data.get("created_at", ""),
            item_count=int(data.get("item_count", 0)),
            share_token=data.get("share_token") or None,
        )


def is_list(data: dict[str, Any]) -> bool:
    """Whether an item of a list's partition is the list itself (only it has a title)."""
    return "title" in data


# ---- items -------------------------------------------------------------------------------


def encode_hold(hold: Hold) -> str:
    return _compact({"quantity": hold.quantity, "expires_at": hold.expires_at, "friend": hold.friend})


def decode_hold(value: str) -> Hold:
    """A hold in either stored form: JSON (now) or ``"<q>|<exp>|<by>"`` (before)."""
    if value.startswith("{"):
        data = json.loads(value)
        return Hold(quantity=int(data["quantity"]), expires_at=int(data["expires_at"]), friend=data["friend"])
    quantity, expires_at, friend = value.split("|", 2)
    return Hold(quantity=int(quantity), expires_at=int(expires_at), friend=friend)


def decode_holds(value: dict[str, str] | None) -> dict[str, Hold]:
    return {rid: decode_hold(v) for rid, v in (value or {}).items()}


def encode_holds(holds: dict[str, Hold]) -> dict[str, str]:
    return {rid: encode_hold(h) for rid, h in holds.items()}


def _fill_to_dict(fill: Fill) -> dict[str, Any]:
    return {
        "paid": fill.paid,
        "line_quantity": fill.line_quantity,
        "paid_amount": fill.paid_amount,
        "granted": fill.granted,
        "refunds": dict(fill.refunds),
        "buyer": fill.buyer,
        "paid_at": fill.paid_at,
        "notified": fill.notified,
    }


def _either(data: dict[str, Any], name: str, legacy: str, default: Any) -> Any:
    return data[name] if name in data else data.get(legacy, default)


def _fill_from_dict(data: dict[str, Any]) -> Fill:
    """A fill in either stored form (legacy keys ``lq amt g rf by at n``)."""
    return Fill(
        paid=bool(data.get("paid")),
        line_quantity=int(_either(data, "line_quantity", "lq", 0)),
        paid_amount=int(_either(data, "paid_amount", "amt", 0)),
        granted=int(_either(data, "granted", "g", 0)),
        refunds={str(k): int(v) for k, v in (_either(data, "refunds", "rf", None) or {}).items()},
        buyer=_either(data, "buyer", "by", None),
        paid_at=_either(data, "paid_at", "at", None),
        notified=bool(_either(data, "notified", "n", False)),
    )


def encode_fills(fills: dict[str, Fill]) -> str:
    return _compact({key: _fill_to_dict(f) for key, f in fills.items()})


def decode_fills(value: Any) -> dict[str, Fill]:
    if not value:
        return {}
    return {key: _fill_from_dict(f) for key, f in json.loads(value).items()}


@dataclass(frozen=True)
class ItemRecord:
    """A wished item: its description, and the quantities reservations and orders change."""

    list_id: str
    item_id: str
    product_id: str
    name: str
    unit_amount: int
    added_at: str
    quantity: int
    owner: str = ""
    surprise: bool = False
    available: int = 0  # stored ``avail``: quantity less fulfilled less every stored hold
    fulfilled_quantity: int = 0
    holds: dict[str, Hold] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)
    version: int = 0  # stored ``ver``: every read-modify-write is guarded by it

    @property
    def state(self) -> ItemState:
        return ItemState(quantity=self.quantity, holds=self.holds, fills=self.fills, version=self.version)

    def to_item(self, shop: str) -> dict[str, Any]:
        info = {name: getattr(self, name) for name in INFO_FIELDS}
        return {
            "pk": keys.list_pk(shop, self.list_id),
            "sk": keys.item_sk(self.item_id),
            "info": _compact(info),
            "owner": self.owner,
            "surprise": self.surprise,
            "quantity": self.quantity,
            "avail": self.available,
            "fulfilled_quantity": self.fulfilled_quantity,
            "holds": encode_holds(self.holds),
            "fills": encode_fills(self.fills) if self.fills else "",
            "ver": self.version,
        }

    @classmethod
    def from_item(cls, data: dict[str, Any]) -> ItemRecord:
        info = json.loads(data["info"]) if data.get("info") else data
        return cls(
            list_id=info["list_id"],
            item_id=info["item_id"],
            product_id=info["product_id"],
            name=info["name"],
            unit_amount=int(info["unit_amount"]),
            added_at=info["added_at"],
            quantity=int(_either(data, "quantity", "qty", 0)),
            owner=data.get("owner", ""),
            surprise=bool(data.get("surprise")),
            available=int(data.get("avail", 0)),
            fulfilled_quantity=int(_either(data, "fulfilled_quantity", "fulfilled_q", 0)),
            holds=decode_holds(data.get("holds")),
            fills=decode_fills(data.get("fills")),
            version=int(data.get("ver", 0)),
        )


# ---- share links -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareRecord:
    token: str
    list_id: str
    owner: str
    created_at: str

    def to_item(self, shop: str) -> dict[str, Any]:
        return {
            "pk": keys.share_pk(shop, self.token),
            "sk": keys.SHARE_SK,
            "list_id": self.list_id,
            "owner": self.owner,
            "created_at": self.created_at,
        }

    @classmethod
    def from_item(cls, token: str, data: dict[str, Any]) -> ShareRecord:
        return cls(
            token=token, list_id=data["list_id"], owner=data["owner"], created_at=data.get("created_at", "")
        )


# ---- the order index ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLineRecord:
    """Which wished item a paid order line fulfilled (a refund naming no item finds it here)."""

    order_id: str
    line_id: str
    list_id: str
    item_id: str
    line_quantity: int
    paid_amount: int

    def to_item(self, shop: str, expires_at_epoch: int) -> dict[str, Any]:
        return {
            "pk": keys.order_pk(shop, self.order_id),
            "sk": keys.order_line_sk(self.line_id),
            "list_id": self.list_id,
            "item_id": self.item_id,
            "line_quantity": self.line_quantity,
            "paid_amount": self.paid_amount,
            "expires_at_epoch": expires_at_epoch,
        }

    @classmethod
    def from_item(cls, order_id: str, line_id: str, data: dict[str, Any]) -> OrderLineRecord:
        return cls(
            order_id=order_id,
            line_id=line_id,
            list_id=data["list_id"],
            item_id=data["item_id"],
            line_quantity=int(_either(data, "line_quantity", "line_q", 0)),
            paid_amount=int(data["paid_amount"]),
        )


@dataclass(frozen=True)
class PendingRefund:
    """A refund of an order line seen before the line's payment named its item."""

    order_id: str
    refund_id: str
    line_id: str
    amount: int

    def to_item(self, shop: str, expires_at_epoch: int) -> dict[str, Any]:
        return {
            "pk": keys.order_pk(shop, self.order_id),
            "sk": keys.pending_refund_sk(self.refund_id, self.line_id),
            "refund_id": self.refund_id,
            "line_id": self.line_id,
            "amount": self.amount,
            "expires_at_epoch": expires_at_epoch,
        }

    @classmethod
    def from_item(cls, order_id: str, data: dict[str, Any]) -> PendingRefund:
        return cls(
            order_id=order_id,
            refund_id=data["refund_id"],
            line_id=data["line_id"],
            amount=int(data["amount"]),
        )


# ---- outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    """The outcome of a reservation's conditional write: ``taken`` (by this call or by this
    request's own earlier attempt whose answer was lost), else the item as the refused
    condition saw it (``None``: there is no such item)."""

    taken: bool
    item: ItemRecord | None = None
