"""Scalar types every model shares: ids, amounts and times, with one strictness policy.

Identity alphabet: every id the services accept (token ``sub`` and ``shop``, path parameters,
ids in bodies and messages) matches ``ID_PATTERN``: 1..128 of ASCII letters, digits and
``. _ : @ + -``. An e-mail-like customer id (``alice@example.com``) is accepted everywhere; a
shop named ``商店`` is refused at the door (401 for a token, 400 for a body, 404 for a path), so
nothing is accepted at one step and dropped at the next.

Models: every request body derives from ``In``: unknown fields are refused (``extra="forbid"``)
and values are strict (no ``"100"`` for an int, no ``1`` for a bool). A query string derives
from ``Query``: its values arrive as text and are converted (``?limit=5`` is 5), unknown
parameters are ignored (trackers and caches add their own). Message bodies
(``campaign_shared.events``) follow ``In``.
Every response model derives from ``Out``: built by our own code from records, it ignores
record fields it does not show (``extra="ignore"``).

Amounts are strict integers (``"100"``, ``100.0`` and ``true`` are refused) in minor units,
``0..MAX_AMOUNT``. Times are RFC 3339 strings within the years ``clock.MIN_YEAR..MAX_YEAR``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

ID_PATTERN = r"^[A-Za-z0-9._:@+\-]{1,128}$"
_ID = re.compile(ID_PATTERN)
MAX_AMOUNT = 10**12

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN)]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
PositiveAmount = Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]
Quantity = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
Bps = Annotated[StrictInt, Field(ge=0, le=10_000)]  # basis points: 10,000 = 100%
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.match(value) is not None


def _valid_time(value: str) -> str:
    from campaign_shared import clock

    clock.parse(value)  # ValueError -> a validation error -> 400
    return value


Timestamp = Annotated[str, StringConstraints(max_length=40), AfterValidator(_valid_time)]


class In(BaseModel):
    """A request body or query: unknown fields refused, strict values."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """A query string: text values converted to their types, unknown parameters ignored."""

    model_config = ConfigDict(extra="ignore")


class Out(BaseModel):
    """A response: fields of the record it is built from that it does not show are ignored."""

    model_config = ConfigDict(extra="ignore")
