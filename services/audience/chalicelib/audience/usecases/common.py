"""The repositories the use cases work with (DynamoDB by default, fakes in unit tests)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.audience.store.ports import CountersPort, ProfilesPort, RulesPort


@dataclass
class Stores:
    profiles: ProfilesPort
    counters: CountersPort
    rules: RulesPort


_default: Stores | None = None


def stores() -> Stores:
    global _default
    if _default is None:
        from chalicelib.audience.store.profiles import CountersRepository, ProfilesRepository
        from chalicelib.audience.store.rules import RulesRepository

        _default = Stores(
            profiles=ProfilesRepository(), counters=CountersRepository(), rules=RulesRepository()
        )
    return _default
