"""Posting entry groups to a distributor's balance and ledger exactly once, without
multi-item transactions (moto copies every table a transaction touches, and the ledger
grows; see DESIGN.md).

A group is what one cause (a payment, a refund, a settlement, a withdrawal) means for one
distributor. An order's groups are posted in steps, each one single-item conditional write:

0. **Claim** the group on the order (``applied.<group>``: a claim with a token and an
   expiry). The delivery that records a new fact claims the groups it implies in the same
   write; any other delivery claims a group only if it is free or its claim has expired.
   A group that is done, or claimed by a live delivery, is left alone.
1. **Balance.** Read the distributor; unless the group is already in its ``journal``,
   write the new balances *and the group's entries into the journal* in one ``UpdateItem``
   conditioned on the ``version`` read (optimistic; re-read and retried on conflict).
   Withdrawal requests add ``available >= amount`` here, so concurrent requests never
   overdraw, and ``status = approved``, so a suspended distributor never withdraws. A
   withdrawal's release or payout (``usecases.payouts``) is claimed on the withdrawal, as an
   order's groups are on the order.
2. **Entries.** Put each entry (conditional on absence: ids are business keys).
3. **Done.** Mark the group done on the order: the durable record that stops redeliveries.
4. **Finish.** Drop the group from the journal.

Invariant: balances = the sums of the ledger entries plus the journal's entries not written
yet (``usecases.settlement.reconcile`` checks it); when deliveries are idle the journal is empty and
balances equal the ledger. Once a group is in the journal, steps 2-4 are idempotent and
anyone may finish them (a retry, or ``flush_journal``). A delivery only starts step 1 within
``STEP_SECONDS`` of its claim, which expires after ``CLAIM_SECONDS``, so a slow delivery can
never post a group that another delivery took over and finished.
"""

from __future__ import annotations

import time
from dataclasses import replace

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, ServiceUnavailable
from campaign_shared.storage import retry
from chalicelib.distribution import domain
from chalicelib.distribution.domain import Entry, Group, Order, ledger
from chalicelib.distribution.domain import withdrawals as withdrawals_flow
from chalicelib.distribution.store.records import (
    Claim,
    DistributorRecord,
    Done,
    JournalGroup,
    Mark,
    OrderRecord,
    WithdrawalReceipt,
)
from chalicelib.distribution.usecases.stores import STORES, Stores

CLAIM_SECONDS = 120
STEP_SECONDS = 60
MAX_ATTEMPTS = 25
BACKOFF_SECONDS = 0.002
BACKOFF_CAP_SECONDS = 0.01  # 25 attempts stay well inside a consumer's 30 s (about 0.2 s at most)


class UnknownDistributor(LookupError):
    pass


def group_id(order_id: str, key: str) -> str:
    return f"{order_id}|{key}"


def new_claim(now_epoch: int) -> Claim:
    return Claim(token=ids.token(9), until_epoch=now_epoch + CLAIM_SECONDS)


def is_done(mark: Mark | None) -> bool:
    return isinstance(mark, Done)


def _held(mark: Mark | None, now_epoch: int) -> bool:
    return isinstance(mark, Claim) and mark.until_epoch >= now_epoch


def new_group_claims(before: Order, after: Order, now_epoch: int) -> dict[str, Claim]:
    """Claims for the groups that ``after``'s facts imply and ``before``'s did not: the
    delivery that records the facts claims them in the same write."""
    old = {g.key for g in ledger.groups(before)}
    claim = new_claim(now_epoch)
    return {g.key: claim for g in ledger.groups(after) if g.key not in old}


# ---- step 1 ---------------------------------------------------------------------------------


def apply_group(
    shop: str,
    distributor_id: str,
    gid: str,
    entries: tuple[Entry, ...],
    *,
    require_available: int | None = None,
    require_approved: bool = False,
    snapshot: DistributorRecord | None = None,
    receipt: WithdrawalReceipt | None = None,
    deadline: float | None = None,
    st: Stores = STORES,
) -> DistributorRecord:
    """Post a group's deltas to the balance once. Returns the distributor after the group (or
    as found, when the group is already in the journal). ``snapshot``: a fresh read of the
    distributor to try first (its version guards the write). ``deadline`` (``time.monotonic``):
    no balance write is attempted after it (the caller's claim would be at risk)."""
    for attempt in retry.attempts(
        MAX_ATTEMPTS, busy="the balance is busy; retry shortly", base=BACKOFF_SECONDS, cap=BACKOFF_CAP_SECONDS
    ):
        if deadline is not None and time.monotonic() > deadline:
            raise ServiceUnavailable("posting took too long; the message will be retried")
        record = (
            snapshot if snapshot is not None and attempt == 0 else st.distributors.get(shop, distributor_id)
        )
        if record is None:
            raise UnknownDistributor(distributor_id)
        if gid in record.journal:
            return record
        now = clock.epoch(clock.now())
        if any(group.at < now - CLAIM_SECONDS for group in record.journal.values()):
            flush_journal(shop, distributor_id, st=st)  # left by a delivery that never came back
            continue
        refusal = domain.withdrawal_refusal(record.status) if require_approved else None
        if refusal is not None:
            raise Conflict(refusal[1], code=refusal[0])
        if require_available is not None and record.available < require_available:
            raise Conflict(
                f"available balance {record.available} is less than {require_available}",
                code="insufficient_balance",
            )
        balance = domain.add_entries(record.balance(), entries)
        written = st.distributors.write_balance(
            shop,
            distributor_id,
            version=record.version,
            balance=balance,
            group_id=gid,
            journal=JournalGroup(at=now, entries=entries, receipt=receipt),
            status="approved" if require_approved else None,
        )
        if written:
            return replace(
                record,
                pending=balance["pending"],
                available=balance["available"],
                withdrawn=balance["withdrawn"],
                earned=balance["earned"],
                reserved=balance["reserved"],
            )
    raise AssertionError("unreachable")  # pragma: no cover (attempts raises 503)


# ---- an order's groups --------------------------------------------------------------------


class GroupsHeld(ServiceUnavailable):
    """A redelivered event found groups claimed by a delivery that may have died: retry later."""


def post_order(
    record: OrderRecord,
    *,
    claimed: dict[str, Claim] | None = None,
    claimed_at: float | None = None,
    redelivered: bool = False,
    snapshots: dict[str, DistributorRecord] | None = None,
    st: Stores = STORES,
) -> list[Group]:
    """Post every group the order's facts imply that is not done: those in ``claimed`` (held
    since ``claimed_at``, ``time.monotonic``) and any free or expired one it can claim.
    Writes the commission rows when they lag the order. Idempotent; returns what it posted.

    A redelivery also finishes groups a crashed delivery left in a journal, and raises
    ``GroupsHeld`` (the message is retried) when a group is still claimed by a delivery that
    may have died. On any failure the claims taken here are released for the retry."""
    order = record.order
    shop, order_id = order.shop, order.order_id
    claims = dict(claimed or {})
    started = claimed_at if claimed_at is not None else time.monotonic()
    now = clock.epoch(clock.now())
    mine: list[Group] = []
    elsewhere: list[Group] = []
    try:
        for group in ledger.groups(order):
            mark = record.applied.get(group.key)
            if is_done(mark):
                if redelivered:
                    st.distributors.finish_group(shop, group.distributor_id, group_id(order_id, group.key))
                continue
            if group.key not in claims and not _held(mark, now):
                claim = new_claim(now)
                if st.orders.claim_group(shop, order_id, group.key, claim, now):
                    claims[group.key] = claim
            (mine if group.key in claims else elsewhere).append(group)
        deadline = started + STEP_SECONDS
        for group in mine:
            snapshot = (snapshots or {}).pop(group.distributor_id, None)
            gid = group_id(order_id, group.key)
            apply_group(
                shop, group.distributor_id, gid, group.entries, snapshot=snapshot, deadline=deadline, st=st
            )
            st.ledger.put_entries(shop, group.distributor_id, group.entries)
        project = order.state == ledger.PAID and record.projected < order.version
        if project:
            st.commissions.put_rows(shop, ledger.rows(order), order.version)
        unindex = bool(order.settled_at) and not elsewhere
        if mine or project or unindex:
            st.orders.mark_done(
                shop,
                order_id,
                [g.key for g in mine],
                clock.iso(clock.now()),
                projected=order.version if project else None,
                unindex=unindex,
            )
    except BaseException:
        for key, claim in claims.items():
            st.orders.release_group(shop, order_id, key, claim.token)
        raise
    for group in mine:
        st.distributors.finish_group(shop, group.distributor_id, group_id(order_id, group.key))
    if redelivered and elsewhere:
        raise GroupsHeld(f"{len(elsewhere)} groups of order {order_id} are claimed by another delivery")
    return mine


# ---- withdrawals and repair ---------------------------------------------------------------------


def post_withdrawal(
    shop: str, distributor_id: str, entry: Entry, receipt: WithdrawalReceipt, *, st: Stores = STORES
) -> WithdrawalReceipt:
    """Post a withdrawal request's entry (``available`` to ``reserved``) if ``available``
    covers it (409 ``insufficient_balance``), then the withdrawal record (what a retry with
    the same Idempotency-Key finds, and what the merchant reviews), then finish. Returns the
    record with the available amount after it."""
    gid = entry.entry_id
    after = apply_group(
        shop,
        distributor_id,
        gid,
        (entry,),
        require_available=entry.amount,
        require_approved=True,
        receipt=receipt,
        st=st,
    )
    st.ledger.put_entries(shop, distributor_id, [entry])
    done = replace(receipt, available_amount=after.available)
    st.withdrawals.put(shop, distributor_id, done)
    st.distributors.finish_group(shop, distributor_id, gid)
    return done


def flush_journal(
    shop: str, distributor_id: str, older_than_seconds: int = CLAIM_SECONDS, *, st: Stores = STORES
) -> int:
    """Finish journal groups left by deliveries that never came back (a message in the DLQ):
    write their entries, mark their cause done, drop them from the journal. Safe at any time
    (every step after the balance write is idempotent). Returns how many it finished."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        return 0
    now = clock.now()
    done = 0
    for gid, group in record.journal.items():
        if group.at > clock.epoch(now) - older_than_seconds:
            continue
        st.ledger.put_entries(shop, distributor_id, group.entries)
        if group.receipt is not None:
            st.withdrawals.put(shop, distributor_id, group.receipt)
        order_id, _, key = gid.partition("|")
        reviewed = withdrawals_flow.withdrawal_of_group(gid)
        if key:  # an order's group (withdrawal groups have no "|")
            st.orders.mark_done(shop, order_id, [key], clock.iso(now))
        elif reviewed is not None:  # a withdrawal's release or payout
            st.withdrawals.mark_posted(shop, distributor_id, reviewed, clock.iso(now))
        st.distributors.finish_group(shop, distributor_id, gid)
        done += 1
    return done
