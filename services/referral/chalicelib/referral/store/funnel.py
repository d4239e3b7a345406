"""Visits (sharded counters, unique-visitor markers) and the report's counters."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from campaign_shared import aws, dynamo
from campaign_shared.errors import ServiceUnavailable
from chalicelib.referral import domain
from chalicelib.referral.domain import Counters
from chalicelib.referral.store import keys


def record_visit(shop: str, code: str, visitor_id: str, now: str) -> bool:
    """Count a visit on a random shard; True when the visitor is new to this code.

    The visitor marker is written first; if counting then fails, a new marker is removed
    again so the retried request counts the visitor once (not zero times)."""
    client = aws.dynamodb()
    marker = keys.visitor_key(shop, code, visitor_id)
    new = dynamo.put_new(keys.table("visitors"), {**marker, "first_at": {"S": now}})
    increments = {"visits": 1, "unique_visitors": 1} if new else {"visits": 1}
    shard = random.randrange(domain.VISIT_SHARDS)
    try:
        client.update_item(
            **keys.add_update(keys.table("stats"), keys.visits_key(shop, code, shard), increments)
        )
    except Exception:
        if new:
            try:
                client.delete_item(TableName=keys.table("visitors"), Key=marker)
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                pass
        raise
    return new


def stats_for(shop: str, codes: Iterable[str]) -> dict[str, tuple[Counters, list[dict[str, Any]]]]:
    """The summary counters and visit shards of each code (BatchGetItem, 100 keys a call)."""
    codes = list(dict.fromkeys(codes))
    wanted: list[tuple[str, int | None, dict[str, Any]]] = []
    for code in codes:
        wanted.append((code, None, keys.stats_key(shop, code)))
        wanted.extend((code, n, keys.visits_key(shop, code, n)) for n in range(domain.VISIT_SHARDS))
    by_pk = {k["pk"]["S"]: (code, shard) for code, shard, k in wanted}
    summaries: dict[str, dict[str, Any]] = {}
    shards: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    table = keys.table("stats")
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {table: {"Keys": [k for _, _, k in wanted[start : start + 100]]}}
        for attempt in range(8):
            response = aws.dynamodb().batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(table, []):
                item = dynamo.from_item(raw) or {}
                code, shard = by_pk[item["pk"]]
                if shard is None:
                    summaries[code] = item
                else:
                    shards[code].append(item)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise ServiceUnavailable("report storage is busy; retry shortly")
    return {code: (Counters.from_mapping(summaries.get(code)), shards[code]) for code in codes}
