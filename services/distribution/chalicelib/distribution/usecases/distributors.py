"""Distributors: registering (optionally invited), their status, and what they and the
merchant see (balance, commissions, ledger, leaderboard)."""

from __future__ import annotations

from dataclasses import asdict

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest, NotFound
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import models
from chalicelib.distribution.domain import ledger, statements
from chalicelib.distribution.store.records import DistributorRecord
from chalicelib.distribution.usecases import shops
from chalicelib.distribution.usecases.stores import STORES, Stores

MAX_ANCESTORS = 64


def _public(record: DistributorRecord) -> models.DistributorOut:
    return models.DistributorOut(
        distributor_id=record.distributor_id,
        status=record.status,  # type: ignore[arg-type]  # a stored status is one of the three
        parent_id=record.parent_id,
        created_at=record.created_at,
        level_id=record.level_id,
    )


def _found(shop: str, distributor_id: str, st: Stores) -> DistributorRecord:
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    return record


def register(
    shop: str,
    distributor_id: str,
    invited_by: str | None,
    *,
    invite_code: str | None = None,
    st: Stores = STORES,
) -> models.DistributorOut:
    """Register the caller, invited by ``invited_by`` (a distributor id) or through an invite
    code of the shop (404 for an unknown code, another shop's included). Self-invites are 400;
    an inviter who is not approved (pending, suspended) is 409 ``inviter_not_approved``.
    Nothing is written on a refusal."""
    if invite_code is not None:
        link = st.links.get(shop, invite_code)
        if link is None:
            raise NotFound("no such invite code in this shop")
        invited_by = link.distributor_id
    if invited_by is not None:
        if invited_by == distributor_id:
            raise InvalidRequest("a distributor cannot invite themselves")
        inviter = st.distributors.get(shop, invited_by)
        if inviter is None:
            raise NotFound("no such inviting distributor")
        if inviter.status != "approved":
            raise Conflict("the inviting distributor is not approved", code="inviter_not_approved")
        if distributor_id in _ancestors(shop, inviter, st):
            raise Conflict("that invitation would make a cycle", code="invite_cycle")
    rules = shops.rules(shop, st)
    record = DistributorRecord(
        distributor_id=distributor_id,
        status="approved" if rules.auto_approve else "pending",
        parent_id=invited_by,
        created_at=clock.iso(clock.now()),
        currency=rules.currency,
        months_from=statements.month_of(clock.iso(clock.now())),  # no entry yet: totals exact from now
    )
    if not st.distributors.create(shop, record):
        # Registering is idempotent for the same request: a retry after a lost answer (the
        # record was written, the reply never arrived) gets the registration it made.
        existing = st.distributors.get(shop, distributor_id)
        if existing is None or existing.parent_id != invited_by:
            raise Conflict("you are already a distributor of this shop", code="already_registered")
        return _public(existing)
    return _public(record)


def _ancestors(shop: str, record: DistributorRecord, st: Stores) -> set[str]:
    seen = {record.distributor_id}
    current = record
    for _ in range(MAX_ANCESTORS):
        parent_id = current.parent_id
        if not parent_id or parent_id in seen:
            break
        seen.add(parent_id)
        parent = st.distributors.get(shop, parent_id)
        if parent is None:
            break
        current = parent
    return seen


def get_distributor(shop: str, distributor_id: str, *, st: Stores = STORES) -> models.DistributorOut:
    return _public(_found(shop, distributor_id, st))


def set_status(shop: str, distributor_id: str, status: str, *, st: Stores = STORES) -> models.DistributorOut:
    record = st.distributors.set_status(shop, distributor_id, status, clock.iso(clock.now()))
    if record is None:
        raise NotFound("no such distributor")
    return _public(record)


# ---- views ------------------------------------------------------------------------------------


def balance(shop: str, distributor_id: str, *, st: Stores = STORES) -> models.BalanceOut:
    record = _found(shop, distributor_id, st)
    return models.BalanceOut(
        distributor_id=distributor_id,
        pending_amount=record.pending,
        available_amount=record.available,
        withdrawn_amount=record.withdrawn,
        reserved_amount=record.reserved,
        earned_amount=record.earned,
        currency=record.currency,
    )


def commissions(
    shop: str, distributor_id: str, page: PageParams, status: str | None, *, st: Stores = STORES
) -> models.CommissionPage:
    """A page of the distributor's commissions, newest first: one per accrual entry (a line
    and tier of an order), as the order's facts stand now (``ledger.rows``). Reads a page of
    accrual entries and their orders (one batch read); ``status`` filters the page, so a
    filtered page may hold fewer items than ``limit`` (follow ``next_cursor``)."""
    accruals, cursor = st.ledger.entries_page(shop, distributor_id, page, "accrual")
    orders = st.orders.get_many(shop, [e.order_id for e in accruals if e.order_id])
    rows = {
        (row.order_id, row.line_id, row.tier): row
        for record in orders
        for row in ledger.rows(record.order)
        if row.distributor_id == distributor_id
    }
    found = [rows.get((e.order_id or "", e.line_id or "", e.tier or 0)) for e in accruals]
    items = [models.CommissionOut(**asdict(r)) for r in found if r is not None and status in (None, r.status)]
    return models.CommissionPage(items=items, next_cursor=cursor)


def ledger_entries(
    shop: str, distributor_id: str, page: PageParams, kind: str | None, *, st: Stores = STORES
) -> models.LedgerPage:
    entries, cursor = st.ledger.entries_page(shop, distributor_id, page, kind)
    items = [
        models.LedgerEntryOut(
            entry_id=e.entry_id,
            kind=e.kind,  # type: ignore[arg-type]  # a stored kind is one of the seven
            order_id=e.order_id,
            line_id=e.line_id,
            tier=e.tier,
            refund_id=e.refund_id,
            withdrawal_id=e.withdrawal_id,
            amount=e.amount,
            currency=e.currency,
            pending_delta=e.pending,
            available_delta=e.available,
            withdrawn_delta=e.withdrawn,
            reserved_delta=e.reserved,
            created_at=e.at,
            rate_bps=e.rate_bps,
            level=e.level,
            paid_amount=e.paid_amount,
        )
        for e in entries
    ]
    return models.LedgerPage(items=items, next_cursor=cursor)


def leaderboard(shop: str, page: PageParams, *, st: Stores = STORES) -> models.LeaderboardPage:
    records, cursor = st.distributors.board_page(shop, page)
    items = [
        models.LeaderboardItem(
            distributor_id=r.distributor_id,
            earned_amount=r.earned,
            pending_amount=r.pending,
            available_amount=r.available,
            status=r.status,
        )
        for r in records
    ]
    return models.LeaderboardPage(items=items, next_cursor=cursor)
