"""The repositories the use cases depend on, one ``Protocol`` per aggregate, and ``Outbox``
(messages to other services). The DynamoDB repositories of this package implement them;
``tests/unit/referral/fakes.py`` implements them in memory with the same conditions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Protocol

from campaign_shared.storage.paging import PageParams
from chalicelib.referral.domain import Buyer, CodeOwner, Outcome
from chalicelib.referral.store.records import (
    ChannelRecord,
    CodeRecord,
    CodeStats,
    CouponTemplate,
    CustomerView,
    ProgramRecord,
    RewardRecord,
)

Answer = Literal["recorded", "unchanged", "unknown"]


class Codes(Protocol):
    def get(self, shop: str, code: str) -> CodeOwner | None: ...

    def create(self, record: CodeRecord) -> bool:
        """False when the code is taken."""
        ...

    def delete(self, shop: str, code: str) -> None: ...

    def page(self, shop: str, page: PageParams, prefix: str | None) -> tuple[list[CodeRecord], str | None]:
        """A page of the shop's codes in code order, narrowed to ``prefix``, and the next cursor."""
        ...


class Channels(Protocol):
    def create(self, record: ChannelRecord) -> None: ...

    def get(self, shop: str, channel_id: str) -> ChannelRecord | None: ...


class Programs(Protocol):
    def put(self, shop: str, record: ProgramRecord) -> None: ...

    def get(self, shop: str) -> ProgramRecord | None: ...


class Templates(Protocol):
    def get(self, shop: str, template_id: str) -> CouponTemplate | None: ...


class Customers(Protocol):
    def get_buyer(self, shop: str, customer_id: str) -> Buyer: ...

    def get_own_code(self, shop: str, customer_id: str) -> str | None: ...

    def put_own_code(self, shop: str, customer_id: str, code: str, created_at: str) -> bool:
        """False when the customer already has another code (their own earlier write counts)."""
        ...

    def rewards_granted(self, shop: str, customer_id: str) -> int: ...

    def view(self, shop: str, customer_id: str) -> CustomerView: ...

    def commit(self, shop: str, outcome: Outcome, now: str) -> bool:
        """Write an outcome atomically (the buyer under the version read, the code counters, the
        referrer's counters under the reward cap, the mutual-referral guard, the new rewards);
        False when something it was decided on changed: read again and decide again."""
        ...


class Rewards(Protocol):
    def get(self, shop: str, customer_id: str, grant_id: str) -> RewardRecord | None: ...

    def record_grant_result(
        self,
        shop: str,
        customer_id: str,
        grant_id: str,
        status: str,
        coupon_id: str | None,
        reason: str | None,
        now: str,
    ) -> tuple[Answer, RewardRecord | None]: ...

    def record_revoke_result(
        self, shop: str, customer_id: str, grant_id: str, status: str, reason: str | None, now: str
    ) -> Answer: ...

    def cancel_held(self, reward: RewardRecord, reason: str, now: str) -> bool: ...

    def want_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool: ...

    def start_revoke(self, reward: RewardRecord, reason: str, now: str) -> bool: ...

    def release_held(self, reward: RewardRecord, now: str) -> bool: ...

    def mark_resent(self, reward: RewardRecord, now: str) -> None: ...

    def mark_unanswered(self, reward: RewardRecord, reason: str, now: str) -> None: ...

    def stale(self, sent_before: str, limit: int) -> list[RewardRecord]:
        """Unanswered grants and revokes last sent before ``sent_before``, oldest first."""
        ...

    def held_due(self, now: str, limit: int) -> list[RewardRecord]:
        """Held rewards whose release time is at or before ``now``, oldest first."""
        ...


class Funnel(Protocol):
    def record_visit(self, shop: str, code: str, visitor_id: str, now: str) -> bool: ...

    def add_refusal(self, shop: str, code: str, reason: str) -> None: ...

    def stats_for(self, shop: str, codes: Iterable[str]) -> dict[str, CodeStats]: ...


class Outbox(Protocol):
    def send(self, service: str, message: dict[str, Any]) -> None: ...

    def send_batch(self, service: str, messages: list[dict[str, Any]]) -> None: ...
