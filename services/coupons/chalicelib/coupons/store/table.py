"""The three calls every repository of the coupons table makes: a consistent read by key, a
conditional update and a create-unless-exists (the kit's ``writes``), on plain dicts."""

from __future__ import annotations

from typing import Any

from campaign_shared import clock
from campaign_shared.storage import codec, reads, writes
from chalicelib.coupons.store.keys import Key, attribute_key, table

RETENTION_SECONDS = 90 * 86400  # jobs, plans and grant records are cleaned up by TTL after this


def expiry() -> int:
    """The TTL epoch of a job, plan or grant record written now."""
    return clock.epoch(clock.now()) + RETENTION_SECONDS


def get(
    key: Key, *, projection: str | None = None, names: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The item at ``key`` (consistent read), or None."""
    return reads.get(table(), attribute_key(key), projection=projection, names=names)


def update(
    key: Key,
    expression: str,
    condition: str | None = None,
    *,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    mine: writes.Mine | None = None,
    returns: writes.Returns = "NONE",
) -> writes.Written:
    """One conditional UpdateItem: ``Written(applied, item)``; the item as the refused
    condition saw it (``None``: there was none), or after an applied write what ``returns``
    asks for (by default nothing: shards carry the in-flight markers of a whole sale)."""
    return writes.update(
        table(),
        attribute_key(key),
        update=expression,
        condition=condition,
        names=names,
        values=codec.values(**values) if values else None,
        mine=mine,
        returns=returns,
    )


def create(key: Key, attributes: dict[str, Any], *, mine: writes.Mine | None = None) -> writes.Written:
    """Put the item unless one exists at ``key``."""
    return writes.create(table(), {**attributes, **key}, mine=mine)
