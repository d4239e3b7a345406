"""Withdrawals: up to the available amount, once per Idempotency-Key."""

from __future__ import annotations

import hashlib

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, NotFound
from chalicelib.distribution import domain, models
from chalicelib.distribution.store.records import WithdrawalReceipt
from chalicelib.distribution.usecases import posting
from chalicelib.distribution.usecases.stores import STORES, Stores


def _out(receipt: WithdrawalReceipt, available: int) -> models.WithdrawalOut:
    return models.WithdrawalOut(
        withdrawal_id=receipt.withdrawal_id,
        amount=receipt.amount,
        status="completed",
        currency=receipt.currency,
        created_at=receipt.created_at,
        available_amount=receipt.available_amount if receipt.available_amount is not None else available,
    )


def withdrawal_id_for(shop: str, distributor_id: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{shop}\0{distributor_id}\0{idempotency_key}".encode()).hexdigest()
    return f"wd_{digest[:26]}"


def withdraw(
    shop: str, distributor_id: str, amount: int, idempotency_key: str | None = None, *, st: Stores = STORES
) -> models.WithdrawalOut:
    """Withdraw ``amount`` from ``available`` (409 ``insufficient_balance`` beyond it). With an
    ``Idempotency-Key``, the withdrawal id derives from it, so a retry after a failure that
    left the first attempt half done completes that attempt instead of paying twice.
    Only an approved distributor withdraws: 409 ``distributor_suspended`` or
    ``distributor_not_approved`` otherwise (checked in ``posting.apply_group`` and made a
    condition of the balance write, so a suspension that lands between the read and the
    write still stops it; a retry of a withdrawal already in the journal completes it)."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    if idempotency_key:
        withdrawal_id = withdrawal_id_for(shop, distributor_id, idempotency_key)
        found = st.withdrawals.get(shop, distributor_id, withdrawal_id)
        if found is not None:
            if found.amount != amount:
                raise Conflict(
                    "Idempotency-Key was used for another withdrawal", code="idempotency_key_reused"
                )
            return _out(found, record.available)
    else:
        withdrawal_id = ids.new_id("wd_")
    at = clock.iso(clock.now())
    entry = domain.withdrawal_entry(withdrawal_id, amount, at, record.currency)
    receipt = WithdrawalReceipt(
        withdrawal_id=withdrawal_id, amount=amount, status="completed", currency=entry.currency, created_at=at
    )
    done = posting.post_withdrawal(shop, distributor_id, entry, receipt, st=st)
    return _out(done, record.available)
