"""Use cases behind the routes and the daily job: rules, distributors, links, views,
withdrawals, settlement and reconciliation. Orchestrates ``domain``/``ledger`` (pure) and
``store`` (DynamoDB); posting to balances lives in ``posting``."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

from campaign_shared import clock, dynamo, ids
from campaign_shared.errors import Conflict, Forbidden, InvalidRequest, NotFound
from campaign_shared.settings import get_settings
from chalicelib.distribution import domain, ledger, posting, store, store_orders

MAX_ANCESTORS = 64
SETTLE_PAGE = 100

# ---- rules ---------------------------------------------------------------------------------


def put_rules(shop: str, rules: dict[str, Any]) -> dict[str, Any]:
    problem = domain.rules_problem(
        rules["default_rate_bps"], rules["parent_rate_bps"], rules["product_rates_bps"]
    )
    if problem:
        raise InvalidRequest(problem)
    record = {**rules, "updated_at": clock.iso(clock.now())}
    store.put_rules(shop, record)
    return record


def get_rules(shop: str) -> dict[str, Any]:
    found = store.get_rules(shop)
    if found is None:
        return {**domain.Rules().__dict__, "updated_at": None}
    found.pop("shop", None)
    return found


def stats(shop: str) -> dict[str, int]:
    counts = store.get_stats(shop)
    out = {}
    for reason in domain.REASONS:
        out[f"{reason}_orders"] = int(counts.get(reason, 0))
    return out


# ---- distributors --------------------------------------------------------------------------


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "distributor_id": record["distributor_id"],
        "status": record["status"],
        "parent_id": record.get("parent_id"),
        "created_at": record.get("created_at"),
    }


def register(shop: str, distributor_id: str, invited_by: str | None) -> dict[str, Any]:
    if invited_by is not None:
        if invited_by == distributor_id:
            raise InvalidRequest("a distributor cannot invite themselves")
        inviter = store.get_distributor(shop, invited_by)
        if inviter is None:
            raise NotFound("no such inviting distributor")
        if inviter["status"] != "approved":
            raise Conflict("the inviting distributor is not approved", code="inviter_not_approved")
        if distributor_id in _ancestors(shop, inviter):
            raise Conflict("that invitation would make a cycle", code="invite_cycle")
    rules = domain.Rules.from_dict(store.get_rules(shop))
    record = {
        "distributor_id": distributor_id,
        "status": "approved" if rules.auto_approve else "pending",
        "parent_id": invited_by,
        "created_at": clock.iso(clock.now()),
        "pending": 0,
        "available": 0,
        "withdrawn": 0,
        "earned": 0,
        "currency": rules.currency,
        "version": 0,
        "journal": {},
    }
    if not store.create_distributor(shop, record, domain.rank_key(0, distributor_id)):
        # Registering is idempotent for the same request: a retry after a lost answer (the
        # record was written, the reply never arrived) gets the registration it made.
        existing = store.get_distributor(shop, distributor_id)
        if existing is None or existing.get("parent_id") != invited_by:
            raise Conflict("you are already a distributor of this shop", code="already_registered")
        return _public(existing)
    return _public(record)


def _ancestors(shop: str, record: dict[str, Any]) -> set[str]:
    seen = {record["distributor_id"]}
    current = record
    for _ in range(MAX_ANCESTORS):
        parent_id = current.get("parent_id")
        if not parent_id or parent_id in seen:
            break
        seen.add(parent_id)
        parent = store.get_distributor(shop, parent_id)
        if parent is None:
            break
        current = parent
    return seen


def get_distributor(shop: str, distributor_id: str) -> dict[str, Any]:
    record = store.get_distributor(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    return _public(record)


def set_status(shop: str, distributor_id: str, status: str) -> dict[str, Any]:
    record = store.set_distributor_status(shop, distributor_id, status, clock.iso(clock.now()))
    if record is None:
        raise NotFound("no such distributor")
    return _public(record)


# ---- links ------------------------------------------------------------------------------------


def _link_out(link: dict[str, Any]) -> dict[str, Any]:
    base = get_settings().public_base_url.rstrip("/")
    return {
        "code": link["code"],
        "url": f"{base}/distribution/links/{link['code']}",
        "product_id": link.get("product_id"),
        "distributor_id": link["distributor_id"],
    }


def create_link(shop: str, distributor_id: str, product_id: str | None) -> dict[str, Any]:
    """The distributor's link for a product (or the shop): the same one when asked again."""
    record = store.get_distributor(shop, distributor_id)
    if record is None:
        raise Forbidden("only distributors can create links; register first")
    if record["status"] != "approved":
        raise Forbidden("only approved distributors can create links")
    for _ in range(5):
        existing = store.get_owned_link(shop, distributor_id, product_id)
        if existing is not None:
            return _link_out(existing)
        link = {
            "code": ids.short_code(16),
            "distributor_id": distributor_id,
            "product_id": product_id,
            "created_at": clock.iso(clock.now()),
        }
        if store.create_link(shop, link):
            return _link_out(link)
    raise Conflict("could not allocate a link; retry", code="conflict")


def resolve_link(shop: str, code: str, viewer: str | None = None) -> dict[str, Any]:
    """A link of the shop. Its owner's id (a customer id) is shown only to the owner and,
    with ``viewer=None``, to the merchant; anyone else (another customer, the storefront)
    sees ``distributor_id: null``: a share link must not reveal who shared it."""
    link = store.get_link(shop, code)
    if link is None:
        raise NotFound("no such link")
    out = _link_out(link)
    if viewer is not None and viewer != link["distributor_id"]:
        out["distributor_id"] = None
    return out


# ---- views ------------------------------------------------------------------------------------


def balance(shop: str, distributor_id: str) -> dict[str, Any]:
    record = store.get_distributor(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    return {
        "distributor_id": distributor_id,
        "pending_amount": int(record.get("pending", 0)),
        "available_amount": int(record.get("available", 0)),
        "withdrawn_amount": int(record.get("withdrawn", 0)),
        "earned_amount": int(record.get("earned", 0)),
        "currency": record.get("currency", "CNY"),
    }


def commissions(
    shop: str, distributor_id: str, page: dynamo.PageParams, status: str | None
) -> dict[str, Any]:
    items, cursor = store.rows_page(shop, distributor_id, page, status)
    for item in items:
        item.pop("order_version", None)
        item.pop("distributor_id", None)
    return {"items": items, "next_cursor": cursor}


def ledger_entries(
    shop: str, distributor_id: str, page: dynamo.PageParams, kind: str | None
) -> dict[str, Any]:
    items, cursor = store.entries_page(shop, distributor_id, page, kind)
    out = []
    for item in items:
        out.append(
            {
                **{
                    k: item.get(k)
                    for k in (
                        "entry_id",
                        "kind",
                        "order_id",
                        "line_id",
                        "tier",
                        "refund_id",
                        "withdrawal_id",
                        "amount",
                        "currency",
                    )
                },
                "pending_delta": int(item.get("pending", 0)),
                "available_delta": int(item.get("available", 0)),
                "withdrawn_delta": int(item.get("withdrawn", 0)),
                "created_at": item["at"],
            }
        )
    return {"items": out, "next_cursor": cursor}


def leaderboard(shop: str, page: dynamo.PageParams) -> dict[str, Any]:
    items, cursor = store.board_page(shop, page)
    out = [
        {
            "distributor_id": item["distributor_id"],
            "earned_amount": int(item.get("earned", 0)),
            "pending_amount": int(item.get("pending", 0)),
            "available_amount": int(item.get("available", 0)),
            "status": item.get("status"),
        }
        for item in items
    ]
    return {"items": out, "next_cursor": cursor}


# ---- withdrawals --------------------------------------------------------------------------


def withdraw(
    shop: str, distributor_id: str, amount: int, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Withdraw ``amount`` from ``available`` (409 ``insufficient_balance`` beyond it). With an
    ``Idempotency-Key``, the withdrawal id derives from it, so a retry after a failure that
    left the first attempt half done completes that attempt instead of paying twice.
    Only an approved distributor withdraws: 409 ``distributor_suspended`` or
    ``distributor_not_approved`` otherwise (checked in ``posting.apply_group`` and made a
    condition of the balance write, so a suspension that lands between the read and the
    write still stops it; a retry of a withdrawal already in the journal completes it)."""
    record = store.get_distributor(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    if idempotency_key:
        digest = hashlib.sha256(f"{shop}\0{distributor_id}\0{idempotency_key}".encode()).hexdigest()
        withdrawal_id = f"wd_{digest[:26]}"
        found = store.get_withdrawal(shop, distributor_id, withdrawal_id)
        if found is not None:
            if int(found["amount"]) != amount:
                raise Conflict(
                    "Idempotency-Key was used for another withdrawal", code="idempotency_key_reused"
                )
            return {
                **found,
                "available_amount": int(found.get("available_amount", record.get("available", 0))),
            }
    else:
        withdrawal_id = ids.new_id("wd_")
    at = clock.iso(clock.now())
    entry = domain.withdrawal_entry(withdrawal_id, amount, at, record.get("currency", "CNY"))
    receipt = {
        "withdrawal_id": withdrawal_id,
        "amount": amount,
        "status": "completed",
        "currency": entry["currency"],
        "created_at": at,
    }
    return posting.post_withdrawal(shop, distributor_id, entry, receipt)


# ---- settlement -----------------------------------------------------------------------------


def settle(shop: str, as_of: datetime | None = None, max_orders: int = 300) -> dict[str, Any]:
    """Move commissions of orders due at or before ``as_of`` (default now) from pending to
    available. Idempotent: an order is settled once (a conditional write on its version).
    Stops after ``max_orders`` (``has_more``: run it again for the rest). An ``as_of`` in the
    future is refused (400; ``domain.AS_OF_SKEW`` of clock skew is settled as of now)."""
    try:
        effective = domain.settlement_as_of(as_of, clock.now())
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), details=[{"loc": ["body", "as_of"], "msg": str(exc), "type": "future_time"}]
        ) from None
    as_of_text = clock.iso(effective)
    count = amount = orders = 0
    skipped: set[str] = set()
    while orders < max_orders:
        batch = [
            o
            for o in store_orders.due_orders(shop, as_of_text, SETTLE_PAGE + len(skipped))
            if o not in skipped
        ]
        if not batch:
            return {"settled_count": count, "settled_amount": amount, "as_of": as_of_text, "has_more": False}
        for order_id in batch:
            orders += 1
            moved = _settle_order(shop, order_id, as_of_text)
            if moved is None:
                skipped.add(order_id)
                continue
            count += moved[0]
            amount += moved[1]
    return {"settled_count": count, "settled_amount": amount, "as_of": as_of_text, "has_more": True}


def _settle_order(shop: str, order_id: str, as_of: str) -> tuple[int, int] | None:
    """Settle one order; (commissions, amount) moved, or None when this run settled nothing
    (not due, settled by another run, or only its posting repaired)."""
    for _ in range(5):
        order = store_orders.get_order(shop, order_id)
        if order is None:
            return None
        if order.get("settled_at"):
            posting.post_order(order)  # settled, but its posting was interrupted: finish it
            return None
        if not ledger.is_due(order, as_of):
            return None
        settled = ledger.settle(order, clock.iso(clock.now()))
        now = clock.epoch(clock.now())
        claims = posting.new_group_claims(order, settled, now)
        started = time.monotonic()
        if store_orders.save_order(settled, int(order["version"]), now, claims):
            saved = {
                **settled,
                "applied": {**order.get("applied", {}), **claims},
                "projected": order.get("projected", 0),
            }
            posting.post_order(saved, claimed=claims, claimed_at=started)
            return ledger.settled_totals(settled)
    return None


def settle_all_shops(deadline_seconds: float = 600) -> dict[str, Any]:
    """The daily run: every shop, as of now."""
    started = time.monotonic()
    now = clock.now()
    total = {"shops": 0, "settled_count": 0, "settled_amount": 0}
    for shop in store.list_shops():
        while time.monotonic() - started < deadline_seconds:
            result = settle(shop, now, max_orders=2000)
            total["settled_count"] += result["settled_count"]
            total["settled_amount"] += result["settled_amount"]
            if not result["has_more"]:
                break
        total["shops"] += 1
    return total


# ---- reconciliation ------------------------------------------------------------------------


def reconcile(shop: str, distributor_id: str) -> dict[str, Any]:
    """Compare a distributor's balances with the sums of their ledger entries (plus journal
    entries not written yet); ``drift`` is balance minus ledger per bucket, zero when exact."""
    for _ in range(5):
        before = store.get_distributor(shop, distributor_id)
        if before is None:
            raise NotFound("no such distributor")
        entries = store.all_entries(shop, distributor_id)
        after = store.get_distributor(shop, distributor_id)
        if after is not None and after.get("version") == before.get("version"):
            break
    written = {e["entry_id"] for e in entries}
    journal = before.get("journal") or {}
    pending_entries = [e for g in journal.values() for e in g["entries"] if e["entry_id"] not in written]
    sums = domain.sum_entries(entries + pending_entries)
    balances = {bucket: int(before.get(bucket, 0)) for bucket in domain.BUCKETS}
    drift = {bucket: balances[bucket] - sums[bucket] for bucket in domain.BUCKETS}
    return {
        "distributor_id": distributor_id,
        "balance": balances,
        "ledger": sums,
        "drift": drift,
        "entry_count": len(entries),
        "journal_groups": len(journal),
        "consistent": not any(drift.values()),
    }


def reconcile_page(shop: str, page: dynamo.PageParams) -> dict[str, Any]:
    items, cursor = store.board_page(shop, page)
    reports = [reconcile(shop, item["distributor_id"]) for item in items]
    return {"items": reports, "next_cursor": cursor}
