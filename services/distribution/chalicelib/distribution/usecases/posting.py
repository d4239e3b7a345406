"""Posting entry groups to a distributor's balance and ledger exactly once, without
multi-item transactions (moto copies every table a transaction touches, and the ledger
grows; see DESIGN.md), in as few writes as that allows.

A group is what one cause (a payment, a refund, a settlement, a withdrawal) means for one
distributor. An order's groups are posted in steps, each one single-item write:

0. **Claim** the group on the order (``applied.<group>``: a claim with a token and an
   expiry). The delivery that records a new fact claims the groups it implies in the same
   write; any other delivery claims a group only if it is not done and its claim is absent
   or expired.
1. **Balance.** Read the distributor; unless the group is already in its ``journal``,
   write the new balances *and the group's entries into the journal* in one ``UpdateItem``
   conditioned on the ``version`` read (optimistic; re-read and retried on conflict).
   Withdrawal requests add ``available >= amount`` here, so concurrent requests never
   overdraw, and ``status = approved``, so a suspended distributor never withdraws. A
   withdrawal's release or payout (``usecases.payouts``) is claimed on the withdrawal, as an
   order's groups are on the order.
2. **Entries.** Put the entries of every group of the delivery in batches (ids are business
   keys and an entry is a function of the facts, so a repeated put writes the same item).

**Done** is a fact, not a flag: a group whose entries are all in the ledger is posted (its
entries are written only after its balance write). So the first delivery of an order writes
the order, one balance per distributor and the entries, and nothing else; a later delivery
(a refund, a redelivered event) checks the groups it did not claim with one consistent batch
read of their entries. Settlement (``usecases.settlement``) and repairs still mark groups
done on the order, where the settlement index needs it.

**The journal** keeps a group from being applied twice while its entries may be missing. A
group leaves it (**finish**) once its entries are written: the process that wrote them drops
it in its next balance write to the same distributor (``_FINISHED``, no extra write); a
group left longer than ``CLAIM_SECONDS`` (its process stopped, or never came back to that
distributor) is checked against the ledger by the next balance write, and dropped in it when
its entries are there, or finished first (``flush_journal``) when they are not.

Invariant: balances = the sums of the ledger entries plus the journal's entries not written
yet (``usecases.settlement.reconcile`` checks it). Once a group is in the journal, the steps
after it are idempotent and anyone may finish them (a retry, or ``flush_journal``). A
delivery only starts step 1 within ``STEP_SECONDS`` of its claim, which expires after
``CLAIM_SECONDS``, so a slow delivery can never post a group that another delivery took over
and finished.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, ServiceUnavailable
from campaign_shared.storage import retry
from chalicelib.distribution import domain
from chalicelib.distribution.domain import Entry, Group, Order, ledger, statements
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
    token: str | None = None,
    st: Stores = STORES,
) -> DistributorRecord:
    """Post a group's deltas to the balance once. Returns the distributor after the group (or
    as found, when the group is already in the journal). ``snapshot``: a fresh read of the
    distributor to try first (its version guards the write). ``deadline`` (``time.monotonic``):
    no balance write is attempted after it (the caller's claim would be at risk). ``token``:
    the caller's claim, kept with the group. The same write drops finished groups from the
    journal (see the module's docstring)."""
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
        known = _finished(shop, distributor_id)
        prune = {g for g, j in record.journal.items() if j.token is not None and known.get(g) == j.token}
        stale = {g: j for g, j in record.journal.items() if j.at < now - CLAIM_SECONDS and g not in prune}
        if stale:
            written = _written_groups(shop, distributor_id, stale, st)
            if len(written) < len(stale):
                flush_journal(shop, distributor_id, st=st)  # left by a delivery that never came back
                continue
            prune |= written
        refusal = domain.withdrawal_refusal(record.status) if require_approved else None
        if refusal is not None:
            raise Conflict(refusal[1], code=refusal[0])
        if require_available is not None and record.available < require_available:
            raise Conflict(
                f"available balance {record.available} is less than {require_available}",
                code="insufficient_balance",
            )
        balance = domain.add_entries(record.balance(), entries)
        months, months_from = statements.keep_totals(
            record.months, record.months_from, entries, statements.month_of(clock.iso(clock.now()))
        )
        written_balance = st.distributors.write_balance(
            shop,
            distributor_id,
            version=record.version,
            balance=balance,
            group_id=gid,
            journal=JournalGroup(at=now, entries=entries, receipt=receipt, token=token),
            status="approved" if require_approved else None,
            prune=tuple(sorted(prune)),
            months=months,
            months_from=months_from,
        )
        if written_balance:
            _forget_finished(shop, distributor_id, prune)
            return replace(
                record,
                pending=balance["pending"],
                available=balance["available"],
                withdrawn=balance["withdrawn"],
                earned=balance["earned"],
                reserved=balance["reserved"],
                months=months,
                months_from=months_from,
            )
    raise AssertionError("unreachable")  # pragma: no cover (attempts raises 503)


def _written_groups(shop: str, distributor_id: str, groups: dict[str, JournalGroup], st: Stores) -> set[str]:
    """The order groups among ``groups`` whose entries are all in the ledger (finished; a
    withdrawal's group is finished by ``usecases.payouts`` or ``flush_journal``)."""
    orders = {gid: group for gid, group in groups.items() if "|" in gid}
    found = st.ledger.written(shop, [(distributor_id, e) for g in orders.values() for e in g.entries])
    return {gid for gid, g in orders.items() if all((distributor_id, e.entry_id) in found for e in g.entries)}


# ---- finished groups, remembered by this process until its next balance write ---------------

FINISHED_DISTRIBUTORS = 10_000  # distributors remembered at most (the oldest are forgotten)
_FINISHED: dict[tuple[str, str], dict[str, str]] = {}  # (shop, distributor) -> group -> claim token
_FINISHED_LOCK = threading.Lock()


def _remember_finished(shop: str, distributor_id: str, groups: dict[str, str]) -> None:
    """Groups whose entries this process wrote (group id -> the claim token it applied them
    with): the next balance write drops them from the journal, if the journal's group holds
    that very token. Forgetting one only delays that (to the stale check)."""
    with _FINISHED_LOCK:
        found = _FINISHED.pop((shop, distributor_id), {})
        found.update(groups)
        _FINISHED[(shop, distributor_id)] = found
        while len(_FINISHED) > FINISHED_DISTRIBUTORS:
            _FINISHED.pop(next(iter(_FINISHED)))


def _finished(shop: str, distributor_id: str) -> dict[str, str]:
    with _FINISHED_LOCK:
        return dict(_FINISHED.get((shop, distributor_id), {}))


def _forget_finished(shop: str, distributor_id: str, gids: set[str]) -> None:
    if not gids:
        return
    with _FINISHED_LOCK:
        found = _FINISHED.get((shop, distributor_id))
        if found is not None:
            for gid in gids:
                found.pop(gid, None)
            if not found:
                del _FINISHED[(shop, distributor_id)]


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
    """Post every group the order's facts imply that is not posted: those in ``claimed`` (held
    since ``claimed_at``, ``time.monotonic``) and any other one whose entries are not all in
    the ledger, if it can claim it. Idempotent; returns what it posted.

    A redelivery raises ``GroupsHeld`` (the message is retried) when a group is still
    claimed by a delivery that may have died. A settled order whose groups are all posted
    leaves the settlement index. On any failure the claims taken here are released."""
    order = record.order
    shop, order_id = order.shop, order.order_id
    claims = dict(claimed or {})
    started = claimed_at if claimed_at is not None else time.monotonic()
    now = clock.epoch(clock.now())
    mine: list[Group] = []
    elsewhere: list[Group] = []
    try:
        others = [
            g for g in ledger.groups(order) if not is_done(record.applied.get(g.key)) and g.key not in claims
        ]
        mine = [g for g in ledger.groups(order) if g.key in claims]
        for group in _unposted(shop, others, st):
            if not _held(record.applied.get(group.key), now):
                claim = new_claim(now)
                if st.orders.claim_group(shop, order_id, group.key, claim, now):
                    claims[group.key] = claim
                    mine.append(group)
                    continue
            elsewhere.append(group)
        deadline = started + STEP_SECONDS
        for group in mine:
            snapshot = (snapshots or {}).pop(group.distributor_id, None)
            gid = group_id(order_id, group.key)
            apply_group(
                shop,
                group.distributor_id,
                gid,
                group.entries,
                snapshot=snapshot,
                deadline=deadline,
                token=claims[group.key].token,
                st=st,
            )
        st.ledger.put_many([(g.distributor_id, e) for g in mine for e in g.entries], shop)
        if order.settled_at and not elsewhere:  # settled and every group posted: leave the index
            st.orders.mark_done(shop, order_id, [g.key for g in mine], clock.iso(clock.now()), unindex=True)
    except BaseException:
        for key, claim in claims.items():
            st.orders.release_group(shop, order_id, key, claim.token)
        raise
    for group in mine:
        _remember_finished(
            shop, group.distributor_id, {group_id(order_id, group.key): claims[group.key].token}
        )
    if redelivered and elsewhere:
        raise GroupsHeld(f"{len(elsewhere)} groups of order {order_id} are claimed by another delivery")
    return mine


def _unposted(shop: str, groups: list[Group], st: Stores) -> list[Group]:
    """The groups whose entries are not all in the ledger (one batch read for all of them)."""
    if not groups:
        return []
    found = st.ledger.written(shop, [(g.distributor_id, e) for g in groups for e in g.entries])
    return [g for g in groups if not all((g.distributor_id, e.entry_id) in found for e in g.entries)]


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
    (every step after the balance write is idempotent). Order groups whose entries are all
    written are only dropped. Returns how many it finished (dropped ones not counted)."""
    record = st.distributors.get(shop, distributor_id)
    if record is None:
        return 0
    now = clock.now()
    stale = {g: j for g, j in record.journal.items() if j.at <= clock.epoch(now) - older_than_seconds}
    written = _written_groups(shop, distributor_id, stale, st)
    done = 0
    for gid, group in stale.items():
        if gid in written:
            st.distributors.finish_group(shop, distributor_id, gid)
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
