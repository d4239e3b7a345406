"""The referral tables: the only code touching DynamoDB (``keys`` has every key and the
layout). One repository per aggregate, each behind a ``ports`` protocol, taking and returning
the typed ``records``; ``Stores`` bundles them (and the ``Outbox``) for the use cases."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from chalicelib.referral.store import ports


@dataclass(frozen=True)
class Stores:
    """What the use cases read, write and send through; ``stores()`` is the real one, unit
    tests pass fakes."""

    codes: ports.Codes
    channels: ports.Channels
    programs: ports.Programs
    templates: ports.Templates
    customers: ports.Customers
    rewards: ports.Rewards
    funnel: ports.Funnel
    outbox: ports.Outbox


@functools.cache
def stores() -> Stores:
    """The DynamoDB repositories and the service queues (built once per process)."""
    from chalicelib.referral.store.channels import ChannelsRepository
    from chalicelib.referral.store.codes import CodesRepository
    from chalicelib.referral.store.customers import CustomersRepository
    from chalicelib.referral.store.funnel import FunnelRepository
    from chalicelib.referral.store.outbox import QueueOutbox
    from chalicelib.referral.store.programs import ProgramsRepository
    from chalicelib.referral.store.rewards import RewardsRepository
    from chalicelib.referral.store.templates import TemplatesRepository

    return Stores(
        codes=CodesRepository(),
        channels=ChannelsRepository(),
        programs=ProgramsRepository(),
        templates=TemplatesRepository(),
        customers=CustomersRepository(),
        rewards=RewardsRepository(),
        funnel=FunnelRepository(),
        outbox=QueueOutbox(),
    )


__all__ = ["Stores", "stores"]
