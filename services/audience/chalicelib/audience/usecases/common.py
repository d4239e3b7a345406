"""The repositories the use cases work with (DynamoDB by default, fakes in unit tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.audience.store.ports import CountersPort, ProfilesPort


@dataclass
class Stores:
    profiles: ProfilesPort
    counters: CountersPort
    # Further repositories (tags, segments, jobs) are reached through ``extra`` by name.
    extra: dict[str, Any] | None = None


_default: Stores | None = None


def stores() -> Stores:
    global _default
    if _default is None:
        from chalicelib.audience.store.profiles import CountersRepository, ProfilesRepository

        _default = Stores(profiles=ProfilesRepository(), counters=CountersRepository())
    return _default
