"""One Protocol per repository of the audience service (DynamoDB here, fakes in the tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from chalicelib.audience.domain.automations import LiftCell
from chalicelib.audience.domain.counters import Cohort
from chalicelib.audience.store.records import StoredProfile

CounterChanges = dict[Cohort | LiftCell, dict[str, int]]


class ProfilesPort(Protocol):
    def get(self, shop: str, customer_id: str) -> StoredProfile | None: ...

    def save(self, shop: str, new: StoredProfile, expected_version: int, changes: CounterChanges) -> bool:
        """Write ``new`` (its version is ``expected_version + 1``) if the stored version is still
        ``expected_version`` (0: no item), together with the counter ``changes``, all or nothing.
        False when the version moved (the caller reloads and tries again)."""
        ...

    def shard_page(
        self, shop: str, shard: int, start: dict | None, limit: int
    ) -> tuple[list[StoredProfile], dict | None]:
        """One page of a shop shard's profiles (jobs only) and the key to continue from."""
        ...


class CountersPort(Protocol):
    def read(self, shop: str, first_day: str, last_day: str) -> Iterator[tuple[Cohort, dict[str, int]]]:
        """The cohort counters whose first-order day lies in ``[first_day, last_day]``."""
        ...

    def read_lift(
        self, shop: str, rule_id: str, first_day: str, last_day: str
    ) -> Iterator[tuple[str, dict[str, int]]]:
        """(arm, sums) of a rule's lift counters whose enrollment day lies in the period."""
        ...


class RulesPort(Protocol):
    def for_shop(self, shop: str) -> list[dict[str, Any]]:
        """Every automation rule of the shop (read on each order message)."""
        ...
