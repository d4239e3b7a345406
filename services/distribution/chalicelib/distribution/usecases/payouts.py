"""The merchant's review of withdrawals: approve, reject (with a reason), pay (with the
payout reference), fail; the queue by status and date, and its CSV export to pay from.

A transition is one conditional write on the withdrawal (its status as read), so of two
concurrent approvals or payments one writes and the other finds it done. A transition that
moves money (reject and fail release the reserved amount, pay pays it out) claims its group in
that same write and then posts it like an order's group (``usecases.posting``): balance and
journal in one write, the ledger entry, the withdrawal marked posted, the journal entry
dropped. A request that dies in between leaves the claim, which expires; repeating the
transition (or ``posting.flush_journal``) finishes the posting, never twice.
"""

from __future__ import annotations

import csv
import io
import time

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest, NotFound, ServiceUnavailable
from campaign_shared.storage import retry
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import models
from chalicelib.distribution.domain import withdrawals as flow
from chalicelib.distribution.store.records import Claim, Done, WithdrawalReceipt
from chalicelib.distribution.usecases import posting
from chalicelib.distribution.usecases.stores import STORES, Stores
from chalicelib.distribution.usecases.withdrawals import out

TRANSITION_ATTEMPTS = 5
CSV_PAGE = 200
CSV_MAX_ROWS = 10_000
EARLIEST, LATEST = "0000", "9999"


def _found(shop: str, distributor_id: str, withdrawal_id: str, st: Stores) -> WithdrawalReceipt:
    found = st.withdrawals.get(shop, distributor_id, withdrawal_id)
    if found is None:
        raise NotFound("no such withdrawal")
    return found


def get(shop: str, distributor_id: str, withdrawal_id: str, *, st: Stores = STORES) -> models.WithdrawalOut:
    return out(_found(shop, distributor_id, withdrawal_id, st))


def _changes(action: str, at: str, reason: str | None, reference: str | None) -> dict[str, str]:
    if action in (flow.APPROVE, flow.REJECT):
        changes = {"reviewed_at": at}
    elif action == flow.PAY:
        changes = {"paid_at": at}
    else:
        changes = {"failed_at": at}
    if reason is not None:
        changes["reason"] = reason
    if reference is not None:
        changes["payout_reference"] = reference
    return changes


def transition(
    shop: str,
    distributor_id: str,
    withdrawal_id: str,
    action: str,
    *,
    reason: str | None = None,
    reference: str | None = None,
    st: Stores = STORES,
) -> models.WithdrawalOut:
    """Apply ``action`` (``flow.APPROVE``, ``REJECT``, ``PAY``, ``FAIL``). Repeating one that
    took place answers the withdrawal as it is (and finishes a posting a crash interrupted);
    a transition the workflow does not allow is 409 ``invalid_transition`` with nothing
    written; paying again with another payout reference is 409 ``already_paid``."""
    for _ in retry.rounds(TRANSITION_ATTEMPTS):
        record = _found(shop, distributor_id, withdrawal_id, st)
        try:
            step = flow.plan(record.status, action)
        except flow.TransitionRefused as refused:
            raise Conflict(str(refused), code="invalid_transition") from None
        if step is None:
            if action == flow.PAY and reference is not None and record.payout_reference != reference:
                raise Conflict(
                    f"already paid with payout reference {record.payout_reference}", code="already_paid"
                )
            return out(finish(shop, distributor_id, record, st=st))
        at = clock.iso(clock.now())
        claim = posting.new_claim(clock.epoch(clock.now())) if step.money else None
        started = time.monotonic()
        if not st.withdrawals.transition(
            shop,
            distributor_id,
            withdrawal_id,
            source=step.source,
            target=step.target,
            changes=_changes(action, at, reason, reference),
            at=at,
            claim=claim,
        ):
            continue  # another transition landed first: read it again
        done = _found(shop, distributor_id, withdrawal_id, st)
        if claim is not None:
            done = _post(shop, distributor_id, done, claim, started, st)
        return out(done)
    raise ServiceUnavailable("the withdrawal is busy; retry shortly")


def _post(
    shop: str, distributor_id: str, record: WithdrawalReceipt, claim: Claim, started: float, st: Stores
) -> WithdrawalReceipt:
    """Post the release or payout of a withdrawal whose group this request holds."""
    money, at = flow.money_of(record.status), record.money_at()
    if money is None or at is None:  # pragma: no cover (only called after a money transition)
        raise AssertionError(f"no money to post for a {record.status} withdrawal")
    entry = flow.money_entry(record.withdrawal_id, money, record.amount, at, record.currency)
    try:
        posting.apply_group(
            shop,
            distributor_id,
            entry.entry_id,
            (entry,),
            deadline=started + posting.STEP_SECONDS,
            st=st,
        )
        st.ledger.put_entries(shop, distributor_id, [entry])
        st.withdrawals.mark_posted(shop, distributor_id, record.withdrawal_id, clock.iso(clock.now()))
    except BaseException:
        st.withdrawals.release(shop, distributor_id, record.withdrawal_id, claim.token)
        raise
    st.distributors.finish_group(shop, distributor_id, entry.entry_id)
    return _found(shop, distributor_id, record.withdrawal_id, st)


def finish(
    shop: str, distributor_id: str, record: WithdrawalReceipt, *, st: Stores = STORES
) -> WithdrawalReceipt:
    """The withdrawal, with a posting left by a request that died (its claim expired or was
    released) finished. While another request holds the claim (a concurrent repeat of the
    same transition), the withdrawal is answered as it is: that request posts the money."""
    money = flow.money_of(record.status)
    if money is None:
        return record
    if isinstance(record.posting, Done):  # posted; a request that died may have left the journal entry
        st.distributors.finish_group(shop, distributor_id, flow.money_group_id(record.withdrawal_id, money))
        return record
    claim = record.posting
    now = clock.epoch(clock.now())
    if not isinstance(claim, Claim):  # pragma: no cover (a money transition always claims)
        raise AssertionError("a reviewed withdrawal without a posting mark")
    if claim.until_epoch >= now:
        return record
    fresh = posting.new_claim(now)
    started = time.monotonic()
    if not st.withdrawals.take_over(shop, distributor_id, record.withdrawal_id, claim.token, fresh):
        return _found(shop, distributor_id, record.withdrawal_id, st)
    return _post(shop, distributor_id, record, fresh, started, st)


# ---- the queue ---------------------------------------------------------------------------------


def _window(query: models.DistributionWithdrawalQuery) -> tuple[str, str]:
    start = clock.iso(clock.parse(query.created_from)) if query.created_from else EARLIEST
    end = clock.iso(clock.parse(query.created_to)) if query.created_to else LATEST
    if start > end:
        raise InvalidRequest(
            "created_from is after created_to",
            details=[{"loc": ["query", "created_from"], "msg": "after created_to", "type": "inverted_range"}],
        )
    return start, end


def queue(
    shop: str, query: models.DistributionWithdrawalQuery, *, st: Stores = STORES
) -> models.DistributionWithdrawalPage:
    start, end = _window(query)
    found, cursor = st.withdrawals.queue_page(shop, query.status, start, end, query)
    return models.DistributionWithdrawalPage(items=[out(r) for r in found], next_cursor=cursor)


CSV_COLUMNS = (
    "withdrawal_id",
    "distributor_id",
    "amount",
    "currency",
    "method",
    "account_masked",
    "status",
    "created_at",
    "reviewed_at",
    "payout_reference",
)


def export_csv(shop: str, query: models.DistributionWithdrawalQuery, *, st: Stores = STORES) -> str:
    """The queue of one status and window as CSV (oldest first, at most ``CSV_MAX_ROWS``; 400
    beyond, narrow the window). Cells that a spreadsheet would run as a formula are quoted
    with a leading apostrophe."""
    start, end = _window(query)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cursor: str | None = None
    rows = 0
    while True:
        found, cursor = st.withdrawals.queue_page(
            shop, query.status, start, end, PageParams(limit=CSV_PAGE, cursor=cursor)
        )
        for record in found:
            rows += 1
            if rows > CSV_MAX_ROWS:
                raise InvalidRequest(f"more than {CSV_MAX_ROWS} withdrawals: narrow created_from/created_to")
            data = out(record).model_dump()
            writer.writerow([_cell(data.get(column)) for column in CSV_COLUMNS])
        if cursor is None:
            return buffer.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
