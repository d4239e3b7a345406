"""Issuing coupons: a customer's claim, a grant from another service (bulk-issue chunks:
``bulk``, on the same stock blocks).

All three keep the same two invariants with single-item conditional writes, whatever the
concurrency: never more coupons than ``total_stock`` (each stock shard's ``taken < cap``)
and never more per customer than ``per_customer_limit`` (the customer's limit record).
The order is: count the customer first, then take stock, then write the coupon; when the
stock is gone the customer's count is given back. A failure can strand a unit of stock
or a count (never oversell); it cannot issue twice.

- **Claim**: a random shard first, then the others (so when demand exceeds stock the
  whole stock is issued). A process remembers shards it saw empty: stock never grows back,
  so once every shard is empty a sold-out claim costs no write at all.
- **Grant** (``grant_id``) and **bulk chunk** (job, chunk): retried messages must not issue
  twice, so their limit count is keyed by an issue key (``reserve`` says ``held`` on a
  retry), stock comes in blocks recorded on the shard (``take_block``), coupon ids are
  derived from the grant record / job, and a chunk's outcome is fixed in a plan record
  before any coupon is written.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from campaign_shared import clock, dynamo, ids
from campaign_shared.errors import Conflict, NotFound
from campaign_shared.grants import CouponGrant, CouponGrantResult
from chalicelib.coupons import domain, store, store_jobs, store_stock

_empty_shards: set[tuple[str, str, str, int]] = set()


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def _layout(template: dict[str, Any]) -> tuple[list[int], list[int]]:
    caps = domain.shard_caps(int(template["total_stock"]), int(template["shard_count"]))
    return caps, domain.shard_starts(caps)


def lucky_amounts_of(shop: str, template: dict[str, Any], slots: list[int]) -> dict[int, int]:
    if template["kind"] != "lucky" or not slots:
        return {}
    positions = {s: domain.lucky_position(s) for s in slots}
    chunks = store_stock.lucky_amounts(shop, template["template_id"], [c for c, _ in positions.values()])
    return {s: chunks[c][offset] for s, (c, offset) in positions.items()}


def template_or_404(shop: str, template_id: str) -> dict[str, Any]:
    template = store_stock.get_template(shop, template_id)
    if template is None:
        raise NotFound("no such template")
    return template


# ---- claims -----------------------------------------------------------------------------


def claim(shop: str, template_id: str, customer_id: str) -> dict[str, Any]:
    """One coupon for the caller: 409 ``not_active``, ``per_customer_limit_reached`` or ``sold_out``."""
    template = template_or_404(shop, template_id)
    now = clock.now()
    domain.require_active(template, now)
    caps, starts = _layout(template)
    table = store.table()
    order = random.sample(range(len(caps)), len(caps))
    live = [s for s in order if (table, shop, template_id, s) not in _empty_shards]
    if not live:
        raise Conflict("this coupon is sold out", code="sold_out")
    coupon_id = ids.new_id("cp-")
    op = f"claim:{coupon_id}"
    # The count remembers this claim, so a write retried after a lost answer reads "held"
    # (this claim's own count) instead of "limit reached".
    if (
        store.reserve(shop, template_id, customer_id, int(template["per_customer_limit"]), op)
        == "limit_reached"
    ):
        raise Conflict(
            "you already hold as many of these coupons as allowed", code="per_customer_limit_reached"
        )
    try:
        taken = None
        for shard in live:
            # The unit is recorded under this claim on the shard in the same write, so a write
            # retried after a lost answer gets the same unit back instead of a second one.
            got = store_stock.take_block(shop, template_id, shard, caps[shard], 1, op)
            if isinstance(got, tuple):
                taken = shard, starts[shard] + got[0]
                break
            _empty_shards.add((table, shop, template_id, shard))
        if taken is None:
            raise Conflict("this coupon is sold out", code="sold_out")
    except BaseException:
        _give_back(shop, template_id, customer_id, op)
        raise
    shard, slot = taken
    coupon = _coupon_in_slot(shop, template, coupon_id, customer_id, now, shard, slot, "claim")
    _write_claimed(shop, coupon)
    try:
        store_stock.finish_block(shop, template_id, shard, op)
    except Exception:  # harmless: the record only names a unit that is already a coupon
        _log().warning("could not clear a finished claim on its shard", extra={"op": op})
    return coupon


def _coupon_in_slot(
    shop: str,
    template: dict[str, Any],
    coupon_id: str,
    customer_id: str,
    now: Any,
    shard: int,
    slot: int,
    source: str,
) -> dict[str, Any]:
    """The coupon for one stock unit (a lucky template's unit carries its drawn amount)."""
    return domain.new_coupon(
        template,
        coupon_id=coupon_id,
        customer_id=customer_id,
        issued_at=now,
        shard=shard,
        slot=slot,
        lucky_amount=lucky_amounts_of(shop, template, [slot]).get(slot),
        source=source,
    )


CLAIM_WRITE_ATTEMPTS = 6


def _write_claimed(shop: str, coupon: dict[str, Any]) -> None:
    """Write the coupon of a unit already taken, retrying storage failures with backoff (the
    put is idempotent: a fixed coupon id, and "exists" means an earlier attempt committed).
    Giving up leaves the unit recorded on its shard under ``claim:<coupon_id>`` (never sold
    twice, visible to an operator) and answers 503."""
    for attempt in range(CLAIM_WRITE_ATTEMPTS):
        try:
            store.put_coupon(shop, coupon)
            return
        except Exception as exc:
            if dynamo.translate(exc) is None or attempt == CLAIM_WRITE_ATTEMPTS - 1:
                _log().error(
                    "claimed unit without a coupon",
                    extra={"coupon_id": coupon["coupon_id"], "shard": coupon.get("shard")},
                )
                raise
            time.sleep(0.02 * 2**attempt)


def _give_back(shop: str, template_id: str, customer_id: str, holder: str) -> None:
    try:
        store.release(shop, template_id, customer_id, holder)
    except Exception:  # the count stays taken: the customer loses one claim, nothing is oversold
        _log().exception("could not give back a per-customer count", extra={"template_id": template_id})


# ---- stock blocks (grants, bulk chunks) ---------------------------------------------------


def take_units(shop: str, template: dict[str, Any], want: int, op: str) -> list[tuple[int, int, int]]:
    """Up to ``want`` units as (shard, first slot, count) blocks, exactly once per ``op``.

    Shards are tried in an order fixed by ``op``, so a retry meets its own blocks (stock
    is never given back, so shards before them are still empty)."""
    caps, starts = _layout(template)
    order = sorted(range(len(caps)), key=lambda s: hashlib.sha256(f"{op}/{s}".encode()).digest())
    blocks: list[tuple[int, int, int]] = []
    need = want
    for shard in order:
        ask = need
        while need > 0 and ask > 0:
            result = store_stock.take_block(shop, template["template_id"], shard, caps[shard], ask, op)
            if isinstance(result, tuple):
                offset, count = result
                blocks.append((shard, starts[shard] + offset, count))
                need -= count
                break
            ask = min(need, result)
        if need <= 0:
            break
    return blocks


def _finish_blocks(shop: str, template_id: str, blocks: list[tuple[int, int, int]], op: str) -> None:
    for shard, _, _ in blocks:
        store_stock.finish_block(shop, template_id, shard, op)


# ---- grants -------------------------------------------------------------------------------


def grant(message: CouponGrant) -> CouponGrantResult:
    """Issue one coupon per ``grant_id``; a redelivered grant answers the same."""
    shop = message.shop
    record = store_jobs.start_grant(
        shop,
        {
            "grant_id": message.grant_id,
            "template_id": message.template_id,
            "customer_id": message.customer_id,
            "coupon_id": ids.new_id("cp-"),
        },
    )
    if record["status"] == "pending":
        status, reason = _issue_grant(shop, record)
        store_jobs.finish_grant(shop, message.grant_id, status, reason)
        record = {**record, "status": status, "reason": reason}
    return CouponGrantResult(
        grant_id=message.grant_id,
        shop=shop,
        customer_id=record["customer_id"],
        template_id=record["template_id"],
        status=record["status"],
        coupon_id=record["coupon_id"] if record["status"] == "issued" else None,
        reason=record.get("reason"),
    )


def _issue_grant(shop: str, record: dict[str, Any]) -> tuple[str, str | None]:
    template_id, customer_id, coupon_id = record["template_id"], record["customer_id"], record["coupon_id"]
    template = store_stock.get_template(shop, template_id)
    if template is None:
        return "failed", "template_not_found"
    if store.get_coupon(shop, customer_id, coupon_id) is not None:
        return "issued", None  # written before a crash
    now = clock.now()
    if domain.window_state(template, now) != "active":
        return "failed", "not_active"
    holder = f"grant:{record['grant_id']}"
    limit = int(template["per_customer_limit"])
    if store.reserve(shop, template_id, customer_id, limit, holder) == "limit_reached":
        return "failed", "per_customer_limit_reached"
    blocks = take_units(shop, template, 1, holder)
    if not blocks:
        store.release(shop, template_id, customer_id, holder)
        return "failed", "sold_out"
    shard, slot, _ = blocks[0]
    coupon = _coupon_in_slot(shop, template, coupon_id, customer_id, now, shard, slot, "grant")
    store.put_coupon(shop, coupon)
    _finish_blocks(shop, template_id, blocks, holder)
    return "issued", None
