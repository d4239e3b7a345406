"""Withdrawal requests: at least the shop's minimum, up to the available amount, once per
Idempotency-Key. A request reserves its amount (``available`` -> ``reserved``) and waits for
the merchant's review (``usecases.payouts``)."""

from __future__ import annotations

import hashlib

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, InvalidRequest, NotFound
from chalicelib.distribution import models
from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.store.records import WithdrawalReceipt
from chalicelib.distribution.usecases import posting, shops
from chalicelib.distribution.usecases.stores import STORES, Stores


def out(receipt: WithdrawalReceipt, available: int | None = None) -> models.WithdrawalOut:
    return models.WithdrawalOut(
        withdrawal_id=receipt.withdrawal_id,
        distributor_id=receipt.distributor_id,
        amount=receipt.amount,
        status=receipt.status,  # type: ignore[arg-type]  # a stored status is one of the six
        currency=receipt.currency,
        created_at=receipt.created_at,
        available_amount=receipt.available_amount if receipt.available_amount is not None else available,
        method=receipt.method,  # type: ignore[arg-type]  # a stored method is one of the three
        account_masked=receipt.account_masked,
        reason=receipt.reason,
        payout_reference=receipt.payout_reference,
        reviewed_at=receipt.reviewed_at,
        paid_at=receipt.paid_at,
        failed_at=receipt.failed_at,
        updated_at=receipt.updated_at,
    )


def withdrawal_id_for(shop: str, distributor_id: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{shop}\0{distributor_id}\0{idempotency_key}".encode()).hexdigest()
    return f"wd_{digest[:26]}"


def withdraw(
    shop: str,
    distributor_id: str,
    amount: int,
    idempotency_key: str | None = None,
    *,
    method: str | None = None,
    account: str | None = None,
    st: Stores = STORES,
) -> models.WithdrawalOut:
    """Request a withdrawal of ``amount``: 400 ``below_minimum`` under the shop's
    ``min_withdrawal_amount``, 409 ``insufficient_balance`` above ``available`` (a condition
    of the balance write, so concurrent requests never overdraw). With an ``Idempotency-Key``
    the withdrawal id derives from it, so a retry after a failure that left the first attempt
    half done completes that attempt instead of reserving twice. Only an approved distributor
    withdraws: 409 ``distributor_suspended`` or ``distributor_not_approved`` otherwise (also a
    condition of the balance write). ``account`` is stored masked, never in full."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        raise NotFound("no such distributor")
    if idempotency_key:
        withdrawal_id = withdrawal_id_for(shop, distributor_id, idempotency_key)
        found = st.withdrawals.get(shop, distributor_id, withdrawal_id)
        if found is not None:
            if found.amount != amount or found.method != method:
                raise Conflict(
                    "Idempotency-Key was used for another withdrawal", code="idempotency_key_reused"
                )
            return out(found, record.available)
    else:
        withdrawal_id = ids.new_id("wd_")
    minimum = shops.rules(shop, st).min_withdrawal_amount
    problem = flow.request_problem(amount, minimum, record.available)
    if problem is not None and problem[0] == "below_minimum":
        raise InvalidRequest(
            problem[1],
            code=problem[0],
            details=[{"loc": ["body", "amount"], "msg": problem[1], "type": problem[0]}],
        )
    at = clock.iso(clock.now())
    entry = flow.request_entry(withdrawal_id, amount, at, record.currency)
    receipt = WithdrawalReceipt(
        withdrawal_id=withdrawal_id,
        amount=amount,
        status=flow.PENDING_REVIEW,
        currency=entry.currency,
        created_at=at,
        distributor_id=distributor_id,
        method=method,
        account_masked=flow.mask_account(account) if account else None,
        updated_at=at,
    )
    done = posting.post_withdrawal(shop, distributor_id, entry, receipt, st=st)
    return out(done, record.available)
