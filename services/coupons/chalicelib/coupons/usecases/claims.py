"""Issuing coupons: a customer's claim and a grant from another service (bulk-issue chunks:
``usecases.bulk``, on the same stock blocks).

All keep the same two invariants with single-item conditional writes, whatever the
concurrency: never more coupons than ``total_stock`` (each stock shard's ``taken < cap``)
and never more per customer than ``per_customer_limit`` (the customer's limit record).
The order is: count the customer first, then take stock, then write the coupon; when the
stock is gone the customer's count is given back. A failure can strand a unit of stock
or a count (never oversell); it cannot issue twice.

- **Claim**: a random shard first, then the others (so when demand exceeds stock the
  whole stock is issued). A process remembers shards it saw empty for the template's
  ``total_stock`` as it read it, so once every shard is empty a sold-out claim costs no
  write at all. Stock grows only by an edit, which raises ``total_stock``: a process that
  reads the new total looks at every shard again. While the added units are still being
  put on the shards (the template lists them in ``pending_adds``), nothing is remembered.
  A shard halted by a pause or an end refuses the unit in the same write: 409 ``paused``
  or ``not_active``. Its count and its unit are recorded under ``claim:<coupon_id>``, so a
  write retried after a lost answer
  meets its own effect, and a rerun of the same claim (same coupon id) completes it once.
- **Grant** (``grant_id``) and **bulk chunk** (job, chunk): retried messages must not issue
  twice, so their limit count is keyed by an issue key (``reserve`` says ``held`` on a
  retry), stock comes in blocks recorded on the shard (``take_block``), coupon ids are
  derived from the grant record / job, and a chunk's outcome is fixed in a plan record
  before any coupon is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from datetime import datetime
from typing import Any

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict
from campaign_shared.grants import CouponGrant, CouponGrantResult
from campaign_shared.storage import retry
from chalicelib.coupons import domain
from chalicelib.coupons.store.keys import table
from chalicelib.coupons.store.records import Coupon, Grant, Refused, Template
from chalicelib.coupons.usecases import Stores, stores_or_default
from chalicelib.coupons.usecases.templates import lucky_amounts_of, template_or_404

CLAIM_WRITE_ATTEMPTS = 6
EMPTY_SHARDS_KEPT = 100_000
# (table, shop, template, shard) -> the template's total stock when the shard was seen empty
_empty_shards: dict[tuple[str, str, str, int], int] = {}


def forget_empty(shop: str, template_id: str) -> None:
    """Forget the template's shards seen empty (its stock has grown)."""
    for key in [k for k in _empty_shards if k[1] == shop and k[2] == template_id]:
        _empty_shards.pop(key, None)


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def _layout(template: Template) -> tuple[list[int], list[int]]:
    caps = domain.shard_caps(template.total_stock, template.shard_count)
    return caps, domain.shard_starts(caps)


# ---- claims -----------------------------------------------------------------------------


def claim(
    shop: str,
    template_id: str,
    customer_id: str,
    stores: Stores | None = None,
    coupon_id: str | None = None,
    link_id: str | None = None,
) -> Coupon:
    """One coupon for the caller: 409 ``not_active``, ``paused``, ``per_customer_limit_reached``
    or ``sold_out``. ``coupon_id``: a rerun of a claim that crashed (its count and unit are
    recorded under it); new claims get a fresh one. ``link_id``: claimed through that share
    link (the coupon carries it; the link counts the unit once it is taken)."""
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id)
    now = clock.now()
    domain.require_active(template, now)
    if template.status == "ended":  # final: a cached copy may say so (a pause may be over)
        raise domain.claim_refusal("ended")
    caps, starts = _layout(template)
    name, stock = table(), template.total_stock
    order = random.sample(range(len(caps)), len(caps))
    live = [n for n in order if _empty_shards.get((name, shop, template_id, n)) != stock]
    if not live:
        raise Conflict("this coupon is sold out", code="sold_out")
    coupon_id = coupon_id or ids.new_id("cp-")
    op = f"claim:{coupon_id}"
    # The count remembers this claim, so a write retried after a lost answer reads "held"
    # (this claim's own count) instead of "limit reached".
    counted = s.limits.reserve(shop, template_id, customer_id, template.per_customer_limit, op)
    if counted == "limit_reached":
        raise Conflict(
            "you already hold as many of these coupons as allowed", code="per_customer_limit_reached"
        )
    if counted == "held":  # a retry or a rerun: this claim may have written its coupon already
        done = s.coupons.get(shop, customer_id, coupon_id)
        if done is not None:
            _finish(s, shop, template_id, done.shard, op)
            return done
        # Its unit may be taken already: try the shard holding it first (read on this path only).
        held = [
            n for n, shard in enumerate(s.stock.shards(shop, template_id, len(caps))) if shard.held_by(op)
        ]
        live = held + [n for n in live if n not in held]
    try:
        taken = None
        for shard in live:
            # The unit is recorded under this claim on the shard in the same write, so a write
            # retried after a lost answer gets the same unit back instead of a second one.
            got = s.stock.take_block(shop, template_id, shard, caps[shard], 1, op)
            if isinstance(got, tuple):
                taken = shard, starts[shard] + got[0]
                break
            if got.halted:
                raise domain.claim_refusal(got.halted)
            if template.pending_adds:  # stock is landing on the shards: this one may grow yet
                continue
            if len(_empty_shards) >= EMPTY_SHARDS_KEPT:
                _empty_shards.clear()
            _empty_shards[(name, shop, template_id, shard)] = stock
        if taken is None:
            raise Conflict("this coupon is sold out", code="sold_out")
    except BaseException:
        _give_back(s, shop, template_id, customer_id, op)
        raise
    shard, slot = taken
    coupon = coupon_in_slot(s, shop, template, coupon_id, customer_id, now, shard, slot, "claim", link_id)
    if link_id is not None:  # before the coupon: a unit taken through the link counts for it
        s.links.record_claim(shop, link_id, coupon_id, customer_id, clock.iso(now))
    _write_claimed(s, shop, coupon)
    _finish(s, shop, template_id, shard, op)
    return coupon


def _finish(s: Stores, shop: str, template_id: str, shard: int, op: str) -> None:
    try:
        s.stock.finish_block(shop, template_id, shard, op)
    except Exception:  # harmless: the record only names a unit that is already a coupon
        _log().warning("could not clear a finished claim on its shard", extra={"op": op})


def coupon_in_slot(
    stores: Stores,
    shop: str,
    template: Template,
    coupon_id: str,
    customer_id: str,
    now: datetime,
    shard: int,
    slot: int,
    source: str,
    link_id: str | None = None,
) -> Coupon:
    """The coupon for one stock unit (a lucky template's unit carries its drawn amount)."""
    return Coupon.from_item(
        domain.new_coupon(
            template,
            coupon_id=coupon_id,
            customer_id=customer_id,
            issued_at=now,
            shard=shard,
            slot=slot,
            lucky_amount=lucky_amounts_of(stores, shop, template, [slot]).get(slot),
            source=source,
            share_link_id=link_id,
        )
    )


def _write_claimed(stores: Stores, shop: str, coupon: Coupon) -> None:
    """Write the coupon of a unit already taken, retrying transient failures with backoff
    (the put is idempotent: a fixed coupon id, and "exists" means an earlier attempt
    committed). Giving up leaves the unit recorded on its shard under ``claim:<coupon_id>``
    (never sold twice, visible to an operator) and answers 503."""
    try:
        retry.with_retries(
            lambda: stores.coupons.create(shop, coupon), attempts=CLAIM_WRITE_ATTEMPTS, base=0.02
        )
    except Exception:
        _log().error(
            "claimed unit without a coupon", extra={"coupon_id": coupon.coupon_id, "shard": coupon.shard}
        )
        raise


def _give_back(stores: Stores, shop: str, template_id: str, customer_id: str, holder: str) -> None:
    try:
        stores.limits.release(shop, template_id, customer_id, holder)
    except Exception:  # the count stays taken: the customer loses one claim, nothing is oversold
        _log().exception("could not give back a per-customer count", extra={"template_id": template_id})


# ---- stock blocks (grants, bulk chunks) ---------------------------------------------------


def take_units(
    stores: Stores, shop: str, template: Template, want: int, op: str
) -> tuple[list[tuple[int, int, int]], str | None]:
    """Up to ``want`` units as (shard, first slot, count) blocks, exactly once per ``op``, and
    the halt (``paused``, ``ended``) that stopped it early, if one did.

    Shards are tried in an order fixed by ``op``, so a retry meets its own blocks (shards
    before them were empty; if stock was added to one of them meanwhile, the retry takes its
    units there and the first attempt's block stays unissued: stock stranded, never sold
    twice)."""
    caps, starts = _layout(template)
    order = sorted(range(len(caps)), key=lambda n: hashlib.sha256(f"{op}/{n}".encode()).digest())
    blocks: list[tuple[int, int, int]] = []
    need = want
    for shard in order:
        ask, cap = need, caps[shard]
        while need > 0 and ask > 0:
            result = stores.stock.take_block(shop, template.template_id, shard, cap, ask, op)
            if isinstance(result, tuple):
                offset, count = result
                blocks.append((shard, starts[shard] + offset, count))
                need -= count
                break
            if result.halted:
                return blocks, result.halted
            ask, cap = _retry_size(need, result)
        if need <= 0:
            break
    return blocks, None


def _retry_size(need: int, refused: Refused) -> tuple[int, int]:
    """The block to ask a refusing shard for next, and the cap to ask it by."""
    return min(need, refused.left), refused.cap


# ---- grants -------------------------------------------------------------------------------


def grant(message: CouponGrant, stores: Stores | None = None) -> CouponGrantResult:
    """Issue one coupon per ``grant_id``; a redelivered grant answers the same."""
    s = stores_or_default(stores)
    shop = message.shop
    record = s.grants.start(
        shop, Grant(message.grant_id, message.template_id, message.customer_id, ids.new_id("cp-"))
    )
    if record.status == "pending":
        status, reason = _issue_grant(s, shop, record)
        s.grants.finish(shop, message.grant_id, status, reason)
        record = Grant(
            record.grant_id, record.template_id, record.customer_id, record.coupon_id, status, reason
        )
    return CouponGrantResult(
        grant_id=message.grant_id,
        shop=shop,
        customer_id=record.customer_id,
        template_id=record.template_id,
        status=record.status,  # type: ignore[arg-type]
        coupon_id=record.coupon_id if record.status == "issued" else None,
        reason=record.reason,
    )


def _issue_grant(s: Stores, shop: str, record: Grant) -> tuple[str, str | None]:
    template = s.templates.get(shop, record.template_id)
    if template is None:
        return "failed", "template_not_found"
    if s.coupons.get(shop, record.customer_id, record.coupon_id) is not None:
        return "issued", None  # written before a crash
    now = clock.now()
    if domain.window_state(template, now) != "active":
        return "failed", "not_active"
    holder = f"grant:{record.grant_id}"
    if s.limits.reserve(
        shop, record.template_id, record.customer_id, template.per_customer_limit, holder
    ) == ("limit_reached"):
        return "failed", "per_customer_limit_reached"
    if template.status == "ended":
        s.limits.release(shop, record.template_id, record.customer_id, holder)
        return "failed", "not_active"
    blocks, halted = take_units(s, shop, template, 1, holder)
    if not blocks:
        s.limits.release(shop, record.template_id, record.customer_id, holder)
        return "failed", "paused" if halted == "paused" else "not_active" if halted else "sold_out"
    shard, slot, _ = blocks[0]
    coupon = coupon_in_slot(
        s, shop, template, record.coupon_id, record.customer_id, now, shard, slot, "grant"
    )
    s.coupons.create(shop, dataclasses.replace(coupon, grant_id=record.grant_id))
    for block_shard, _, _ in blocks:
        s.stock.finish_block(shop, record.template_id, block_shard, holder)
    return "issued", None
