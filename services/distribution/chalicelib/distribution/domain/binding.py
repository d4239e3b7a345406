"""Customer binding (客户关系), pure: who a customer's order earns for, and whether the order
binds the customer (or takes them over).

The rules' ``binding_days`` switches it on (``None``: off, orders earn only through a code);
``0`` means permanent. The first attributed order binds the customer to its distributor.

- ``first_touch``: the binding holds for ``binding_days`` after it was made (for ever with 0);
  while it holds, every order of the customer earns the bound distributor, with or without
  a code, whoever's code it carries. Once it lapsed the customer is free, and the next
  attributed order binds them again.
- ``last_touch``: the binding never lapses by itself. For ``binding_days`` after it was made
  (the protection period; for ever with 0) it holds as above; after that, an order through
  another distributor's code takes the customer over (that order earns the new distributor,
  and so do the later ones).

Orders without a code earn the bound distributor while the binding holds (and their tier-2
inviter as usual). A merchant's transfer or unbinding applies to later orders only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_TOUCH, LAST_TOUCH = "first_touch", "last_touch"
POLICIES = (FIRST_TOUCH, LAST_TOUCH)
NEW, TAKEOVER = "new", "takeover"


@dataclass(frozen=True)
class Binding:
    customer_id: str
    distributor_id: str | None  # None: unbound by the merchant
    bound_at: datetime


@dataclass(frozen=True)
class Choice:
    """Who the order earns for (``earner``: a distributor id, or None) and what it does to the
    binding (``NEW``, ``TAKEOVER`` or None)."""

    earner: str | None
    bind: str | None = None


def _period_over(binding: Binding, days: int, now: datetime) -> bool:
    return days > 0 and now >= binding.bound_at + timedelta(days=days)


def holds(binding: Binding | None, days: int | None, policy: str, now: datetime) -> bool:
    """Whether the binding attributes the customer's orders now."""
    if days is None or binding is None or binding.distributor_id is None:
        return False
    if policy == FIRST_TOUCH:
        return not _period_over(binding, days, now)
    return True


def choose(
    binding: Binding | None, code_owner: str | None, days: int | None, policy: str, now: datetime
) -> Choice:
    """Who an order of a customer with ``binding`` earns for, given the owner of the order's
    code (None without a code or for an unknown code)."""
    if days is None:
        return Choice(code_owner)
    if not holds(binding, days, policy, now):
        return Choice(code_owner, NEW if code_owner else None)
    assert binding is not None and binding.distributor_id is not None
    bound = binding.distributor_id
    if code_owner is None or code_owner == bound:
        return Choice(bound)
    if policy == LAST_TOUCH and _period_over(binding, days, now):
        return Choice(code_owner, TAKEOVER)
    return Choice(bound)


def mask_customer(customer_id: str) -> str:
    """A customer id as a distributor sees it: the first 2 and the last 2 characters of an id
    of 8 or more, the first 1 of a shorter one, ``***`` between (its length is not shown)."""
    if len(customer_id) >= 8:
        return f"{customer_id[:2]}***{customer_id[-2:]}"
    return f"{customer_id[:1]}***"
