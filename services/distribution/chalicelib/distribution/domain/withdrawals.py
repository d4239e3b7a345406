"""Withdrawals as a workflow, pure: statuses, the transitions between them, the ledger
entries each one means, and how an account reference is masked.

A request moves its amount from ``available`` to ``reserved`` (entry ``withdrawal``). The
merchant then reviews it::

    pending_review --approve--> approved --pay(payout_reference)--> paid
         |                          |
         +--reject(reason)--> rejected    +--fail(reason)--> failed

``paid`` moves the amount from ``reserved`` to ``withdrawn`` (entry ``withdrawal_payout``);
``rejected`` and ``failed`` return it from ``reserved`` to ``available`` (entry
``withdrawal_release``), exactly the requested amount. ``completed`` is the status of
withdrawals made before the workflow existed (paid at once); no transition leaves it.

Repeating a transition that already happened is answered with the withdrawal as it is (an
approval of an approved, paid or failed request was given; a payment of a paid one with the
same payout reference). Any other transition is refused (``invalid_transition``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.distribution.domain.values import Entry

PENDING_REVIEW, APPROVED, REJECTED, PAID, FAILED = "pending_review", "approved", "rejected", "paid", "failed"
COMPLETED = "completed"  # before the workflow: paid at once
STATUSES = (PENDING_REVIEW, APPROVED, REJECTED, PAID, FAILED)
METHODS = ("wechat", "alipay", "bank")

APPROVE, REJECT, PAY, FAIL = "approve", "reject", "pay", "fail"
RELEASE, PAYOUT = "release", "payout"  # the money a transition moves

REQUEST_KIND, RELEASE_KIND, PAYOUT_KIND = "withdrawal", "withdrawal_release", "withdrawal_payout"


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    money: str | None  # RELEASE, PAYOUT or None (an approval moves nothing)


TRANSITIONS = {
    APPROVE: Transition(PENDING_REVIEW, APPROVED, None),
    REJECT: Transition(PENDING_REVIEW, REJECTED, RELEASE),
    PAY: Transition(APPROVED, PAID, PAYOUT),
    FAIL: Transition(APPROVED, FAILED, RELEASE),
}

# The statuses in which an action has already taken place.
ALREADY = {
    APPROVE: (APPROVED, PAID, FAILED),
    REJECT: (REJECTED,),
    PAY: (PAID,),
    FAIL: (FAILED,),
}


class TransitionRefused(ValueError):
    """A transition the workflow does not allow from the withdrawal's status (409)."""

    def __init__(self, action: str, status: str) -> None:
        self.action, self.status = action, status
        super().__init__(f"cannot {action} a withdrawal that is {status}")


def plan(status: str, action: str) -> Transition | None:
    """The transition ``action`` makes from ``status``; None when it already took place.
    Raises ``TransitionRefused`` when the workflow does not allow it."""
    step = TRANSITIONS[action]
    if status in ALREADY[action]:
        return None
    if status != step.source:
        raise TransitionRefused(action, status)
    return step


def money_of(status: str) -> str | None:
    """The money movement a settled status implies (RELEASE, PAYOUT or None)."""
    if status in (REJECTED, FAILED):
        return RELEASE
    if status == PAID:
        return PAYOUT
    return None


# ---- amounts ---------------------------------------------------------------------------------


def request_problem(amount: int, minimum: int, available: int) -> tuple[str, str] | None:
    """(code, message) when a request of ``amount`` is refused before anything is written:
    ``below_minimum`` (400) under the shop's minimum; ``insufficient_balance`` (409) above
    the available amount (checked again as a condition of the balance write)."""
    if amount < minimum:
        return "below_minimum", f"the minimum withdrawal is {minimum}"
    if amount > available:
        return "insufficient_balance", f"available balance {available} is less than {amount}"
    return None


# ---- entries ---------------------------------------------------------------------------------


def request_entry(withdrawal_id: str, amount: int, at: str, currency: str) -> Entry:
    """The request: ``available`` -A, ``reserved`` +A."""
    if amount <= 0:
        raise ValueError("a withdrawal must be positive")
    return Entry(
        entry_id=f"wd#{withdrawal_id}",
        kind=REQUEST_KIND,
        withdrawal_id=withdrawal_id,
        amount=amount,
        available=-amount,
        reserved=amount,
        at=at,
        currency=currency,
    )


def money_group_id(withdrawal_id: str, money: str) -> str:
    """The id of a release or payout entry, which is also its group's id in the journal."""
    return f"wd#{withdrawal_id}#{money}"


def money_entry(withdrawal_id: str, money: str, amount: int, at: str, currency: str) -> Entry:
    """The release (``reserved`` -A, ``available`` +A) or the payout (``reserved`` -A,
    ``withdrawn`` +A) of a reviewed request. ``at`` is the transition's recorded time, so the
    entry (and its ledger key) is the same however often it is posted."""
    if money == RELEASE:
        return Entry(
            entry_id=money_group_id(withdrawal_id, RELEASE),
            kind=RELEASE_KIND,
            withdrawal_id=withdrawal_id,
            amount=amount,
            reserved=-amount,
            available=amount,
            at=at,
            currency=currency,
        )
    if money == PAYOUT:
        return Entry(
            entry_id=money_group_id(withdrawal_id, PAYOUT),
            kind=PAYOUT_KIND,
            withdrawal_id=withdrawal_id,
            amount=amount,
            reserved=-amount,
            withdrawn=amount,
            at=at,
            currency=currency,
        )
    raise ValueError(f"unknown money movement {money!r}")


def withdrawal_of_group(group_id: str) -> str | None:
    """The withdrawal id of a release or payout group (``wd#<id>#release``), else None."""
    parts = group_id.split("#")
    if len(parts) == 3 and parts[0] == "wd" and parts[2] in (RELEASE, PAYOUT):
        return parts[1]
    return None


# ---- account references -------------------------------------------------------------------


def mask_account(reference: str) -> str:
    """An account reference as stored and shown: ``****`` then its last 4 characters when it
    has at least 8, its last 1 when it has 4 to 7, nothing of it when shorter. The length is
    not shown either."""
    text = reference.strip()
    shown = 4 if len(text) >= 8 else (1 if len(text) >= 4 else 0)
    return "****" + (text[-shown:] if shown else "")
