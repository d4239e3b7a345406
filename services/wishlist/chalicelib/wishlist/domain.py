"""The wishlist's rules, pure: no boto3, no HTTP.

An item wants ``quantity`` units. Two things use them up:

- **holds** (reservations): ``{reservation_id: Hold}``, each a friend's claim on ``quantity``
  units until ``expires_at`` (epoch seconds). A hold whose ``expires_at`` has passed no longer
  counts: expiry is
  decided when the item is read, never by a cleaner (DynamoDB TTL only tidies up).
- **fills** (fulfilments): ``{"<order_id>:<line_id>": Fill}``, one per paid order line that
  names the item, so a redelivered or repeated ``order.paid`` finds its line already there and
  fulfils nothing twice. A refund that arrives before its payment leaves an unpaid fill that
  carries the refund, so the late payment is counted net of it.

The invariant, under any interleaving: ``sum(fill.counted) + sum(hold.quantity) <= quantity``. It
holds because a payment takes at most the units of its own hold plus what is open at that
moment (``granted``), and refunds only ever lower ``counted``.

Money: integer minor units. A refund gives units back in proportion to the refunded share
of the line's ``paid_amount``, rounded **down** (``campaign_shared.money.proportional``):
refunding 4,500 of a 9,000 two-unit line gives back 1 unit; refunding 1,000 of it gives back
none (a price adjustment, the gift was still bought); a full refund gives back every unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from campaign_shared.money import proportional


class NothingLeft(Exception):
    """Less than the requested quantity is open."""

    def __init__(self, open_quantity: int) -> None:
        super().__init__(f"only {open_quantity} left")
        self.open_quantity = open_quantity


@dataclass(frozen=True)
class Hold:
    """A friend's claim on ``quantity`` units until ``expires_at`` (epoch seconds)."""

    quantity: int
    expires_at: int
    friend: str

    def active(self, now: int) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class Counts:
    reserved: int
    fulfilled: int
    open: int


def counts(quantity: int, fulfilled: int, holds: dict[str, Hold], now: int) -> Counts:
    """What a reader sees at ``now``: expired holds reserve nothing."""
    reserved = sum(h.quantity for h in holds.values() if h.active(now))
    return Counts(reserved=reserved, fulfilled=fulfilled, open=max(0, quantity - fulfilled - reserved))


def refunded_units(line_quantity: int, paid_amount: int, refunded_amount: int) -> int:
    """Units a refund gives back: floor(line_quantity * refunded / paid), all of them on a full
    refund.

    A line paid with 0 (fully discounted) has nothing to refund in money, so any refund
    naming it is a full return.
    """
    if paid_amount <= 0:
        return line_quantity
    return proportional(line_quantity, min(refunded_amount, paid_amount), paid_amount)


@dataclass(frozen=True)
class Fill:
    """One order line's fulfilment of an item (``store.records`` keeps its stored form)."""

    paid: bool
    line_quantity: int
    paid_amount: int
    granted: int = 0  # units the payment took from the item (at most line_quantity)
    refunds: dict[str, int] = field(default_factory=dict)
    buyer: str | None = None
    paid_at: str | None = None
    notified: bool = False

    @property
    def refunded_amount(self) -> int:
        return sum(self.refunds.values())

    @property
    def counted(self) -> int:
        """Units this line fulfils now: what it was granted, less the units refunded.

        Units the payment could not be granted (nothing was open) are refunded first."""
        if not self.paid:
            return 0
        kept = self.line_quantity - refunded_units(self.line_quantity, self.paid_amount, self.refunded_amount)
        return max(0, min(self.granted, kept))


@dataclass(frozen=True)
class ItemState:
    """The mutable part of an item, as the store reads it (``version`` guards writes)."""

    quantity: int
    holds: dict[str, Hold] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)
    version: int = 0

    @property
    def fulfilled(self) -> int:
        return sum(f.counted for f in self.fills.values())

    @property
    def held(self) -> int:
        """Units under every hold still stored, expired or not (what the stored counter excludes)."""
        return sum(h.quantity for h in self.holds.values())

    @property
    def available(self) -> int:
        """The stored counter: quantity less fulfilled less every stored hold."""
        return self.quantity - self.fulfilled - self.held

    def counts(self, now: int) -> Counts:
        return counts(self.quantity, self.fulfilled, self.holds, now)


def fill_key(order_id: str, line_id: str) -> str:
    return f"{order_id}:{line_id}"


def _without_expired(holds: dict[str, Hold], now: int) -> dict[str, Hold]:
    return {rid: h for rid, h in holds.items() if h.active(now)}


# ---- reservations ------------------------------------------------------------------------


def plan_reservation(state: ItemState, quantity: int, now: int) -> dict[str, int]:
    """The expired holds to release so that ``quantity`` fits, or ``NothingLeft``.

    The caller releases them and takes the new hold in one conditional write; the stored
    counter plus the released units must still cover ``quantity`` when it lands."""
    expired = {rid: h.quantity for rid, h in state.holds.items() if not h.active(now)}
    if state.available + sum(expired.values()) < quantity:
        raise NothingLeft(state.counts(now).open)
    return expired


def release_hold(state: ItemState, reservation_id: str) -> ItemState | None:
    """Drop a hold (order cancelled, friend changed her mind); None when it is already gone."""
    if reservation_id not in state.holds:
        return None
    holds = dict(state.holds)
    del holds[reservation_id]
    return replace(state, holds=holds)


# ---- order events --------------------------------------------------------------------------


def apply_paid(
    state: ItemState,
    key: str,
    *,
    line_quantity: int,
    paid_amount: int,
    reservation_id: str | None,
    buyer: str,
    paid_at: str,
    now: int,
    refunds: dict[str, int] | None = None,
) -> ItemState | None:
    """Fulfil a paid line; None when nothing changes (the line was already paid).

    The line's own reservation is consumed even if it has just expired (its units were still
    set aside); otherwise it takes open units. It is granted at most what it can take, so an
    over-bought item is never counted over its quantity. ``refunds`` are refunds of this line
    that arrived before the payment.
    """
    existing = state.fills.get(key)
    merged = {**(existing.refunds if existing else {}), **(refunds or {})}
    if existing is not None and existing.paid:
        if merged == existing.refunds:
            return None
        fills = {**state.fills, key: replace(existing, refunds=merged)}
        return replace(state, fills=fills)
    holds = dict(state.holds)
    if reservation_id:
        holds.pop(reservation_id, None)  # its units become part of ``room``
    holds = _without_expired(holds, now)
    others = sum(f.counted for k, f in state.fills.items() if k != key)
    room = max(0, state.quantity - others - sum(h.quantity for h in holds.values()))
    granted = min(line_quantity, room)
    fill = Fill(
        paid=True,
        line_quantity=line_quantity,
        paid_amount=paid_amount,
        granted=granted,
        refunds=merged,
        buyer=buyer,
        paid_at=paid_at,
        notified=False,
    )
    return replace(state, holds=holds, fills={**state.fills, key: fill})


def apply_refund(
    state: ItemState, key: str, *, refund_id: str, amount: int, line_quantity: int, paid_amount: int
) -> ItemState | None:
    """Record a refund of a line (before or after its payment); None when already recorded."""
    existing = state.fills.get(key)
    if existing is not None and refund_id in existing.refunds:
        return None
    if existing is None:
        existing = Fill(paid=False, line_quantity=line_quantity, paid_amount=paid_amount)
    fill = replace(existing, refunds={**existing.refunds, refund_id: amount})
    return replace(state, fills={**state.fills, key: fill})


def mark_notified(state: ItemState, key: str) -> ItemState | None:
    fill = state.fills.get(key)
    if fill is None or fill.notified:
        return None
    return replace(state, fills={**state.fills, key: replace(fill, notified=True)})


def needs_notification(state: ItemState, key: str) -> bool:
    fill = state.fills.get(key)
    return fill is not None and fill.paid and not fill.notified and fill.counted > 0


def fulfillers(state: ItemState) -> list[tuple[str, int, str]]:
    """(customer, units, when) per paid line still counted, oldest first."""
    found = [(f.buyer or "", f.counted, f.paid_at or "") for f in state.fills.values() if f.counted > 0]
    return sorted(found, key=lambda x: (x[2], x[0]))


# ---- share links ---------------------------------------------------------------------------

SHARE_TOKEN_BYTES = 18  # 144 bits of randomness: 24 URL-safe characters
_SHARE_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{24}$")


def is_share_token(value: str) -> bool:
    """Whether ``value`` could be a share token (any other shape is 404 without a read)."""
    return _SHARE_TOKEN_SHAPE.match(value) is not None
