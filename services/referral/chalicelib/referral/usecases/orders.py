"""Order events: attribution, funnel, conversion, voided signups and refunds of converting
orders.

Every event is idempotent on a business key: an order's payment on (shop, customer,
order_id), a refund on its ``refund_id``. The customer's state is read, the domain decides,
and the store writes under the version that was read; on a concurrent change the event is
decided again. Grants are sent after the conversion is committed; if sending fails the
redelivered event sends the still-pending grants again (the coupons service issues one coupon
per ``grant_id``), and a scheduled sweep re-sends grants left unanswered.

When an event leaves the customer's conversion void (an earlier order showed they were not
new) or its converting order fully refunded, its rewards are taken back
(``rewards.withdraw``): right after the commit, and again on every redelivery of that event,
so a crash in between is repaired by the retry.
"""

from __future__ import annotations

from collections.abc import Callable

from campaign_shared.storage import retry
from chalicelib.referral import domain
from chalicelib.referral.domain import Buyer, Outcome, PaidOrder
from chalicelib.referral.domain import rewards as rules
from chalicelib.referral.store import Stores
from chalicelib.referral.usecases import rewards
from chalicelib.referral.usecases.common import log, now, real

MAX_ATTEMPTS = 5


def _settle(s: Stores, shop: str, decide: Callable[[], Outcome]) -> Outcome:
    """Read, decide, write under the version read; decide again when the customer changed."""
    for _ in retry.attempts(MAX_ATTEMPTS, busy="customer state kept changing; retry"):
        outcome = decide()
        if not outcome.changed or s.customers.commit(shop, outcome, now()):
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover - attempts() raises when exhausted


def order_paid(shop: str, customer_id: str, order: PaidOrder, stores: Stores | None = None) -> None:
    """An ``order.paid``: attribution, funnel counters, the conversion and its grants."""
    s = real(stores)
    code = order.referral_code
    seen: dict[str, Buyer] = {}

    def decide() -> Outcome:
        buyer = s.customers.get_buyer(shop, customer_id)
        seen["buyer"] = buyer
        owner = None
        if code is not None and (buyer.attributed_code is None or buyer.bound_code is not None):
            owner = s.codes.get(shop, code)  # (a bound customer's order may void the signup)
            if owner is None:
                log().info("order names an unknown referral code", extra={"order_id": order.order_id})
        program = None
        granted = 0
        if buyer.bound_code is not None and buyer.converted_at is None:
            found = s.programs.get(shop)
            program = found.program if found else None
            if program and program.max_rewards_per_referrer and buyer.referrer_kind == "customer":
                granted = s.customers.rewards_granted(shop, buyer.referrer_id or "")
        return domain.apply_paid(
            shop,
            buyer,
            order,
            code_owner=owner,
            program=program,
            referrer_rewards_granted=granted,
            now=now(),
        )

    outcome = _settle(s, shop, decide)
    if outcome.changed:
        rewards.send_grants(s, shop, outcome.rewards)
    elif seen["buyer"].conversion_order_id == order.order_id:
        rewards.resend_pending(s, shop, seen["buyer"])
    _take_back(s, shop, outcome)


def order_refunded(
    shop: str, customer_id: str, order_id: str, refund_id: str, amount: int, stores: Stores | None = None
) -> None:
    """An ``order.refunded``: the funnel's net amounts, and a fully refunded converting
    order's rewards taken back."""
    s = real(stores)

    def decide() -> Outcome:
        return domain.apply_refund(s.customers.get_buyer(shop, customer_id), order_id, refund_id, amount)

    _take_back(s, shop, _settle(s, shop, decide))


def _take_back(s: Stores, shop: str, outcome: Outcome) -> None:
    """Withdraw the conversion's rewards when this event made them due for it, or on a
    redelivery (the first delivery may have crashed before it withdrew them)."""
    buyer: Buyer = outcome.after
    reason = rules.withdraw_reason(buyer)
    if reason is None:
        return
    if outcome.changed and rules.withdraw_reason(outcome.before) == reason:
        return  # already due before this event: its own event did it
    rewards.withdraw(s, shop, buyer, reason)
