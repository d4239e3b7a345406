"""The funnel (``stats`` and ``visitors`` tables): visits on sharded counters, unique-visitor
markers, refusals, and the counters the report reads."""

from __future__ import annotations

import random
from collections.abc import Iterable

from campaign_shared import aws
from campaign_shared.errors import ServiceUnavailable
from campaign_shared.storage import paging, writes
from chalicelib.referral.domain import VISIT_SHARDS, Counters, VisitTally
from chalicelib.referral.store import keys
from chalicelib.referral.store.records import CodeStats
from chalicelib.referral.store.updates import add_update


def _plain(key: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: value["S"] for name, value in key.items()}


class FunnelRepository:
    def record_visit(self, shop: str, code: str, visitor_id: str, now: str) -> bool:
        """Count a visit on a random shard; True when the visitor is new to this code.

        The visitor marker is written first; if counting then fails, a new marker is removed
        again so the retried request counts the visitor once (not zero times)."""
        client = aws.dynamodb()
        marker = keys.visitor_key(shop, code, visitor_id)
        visitors = keys.table("visitors")
        new = writes.create(visitors, {"pk": marker["pk"]["S"], "first_at": now}).applied
        increments = {"visits": 1, "unique_visitors": 1} if new else {"visits": 1}
        shard = random.randrange(VISIT_SHARDS)
        try:
            client.update_item(
                **add_update(keys.table("stats"), keys.visits_key(shop, code, shard), increments)
            )
        except Exception:
            if new:
                try:
                    client.delete_item(TableName=visitors, Key=marker)
                except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                    pass
            raise
        return new

    def add_refusal(self, shop: str, code: str, reason: str) -> None:
        """Count a refused signup on the code (a count of attempts, not idempotent by design)."""
        increments = Counters(**{f"refused_{reason}": 1}).nonzero()
        aws.dynamodb().update_item(**add_update(keys.table("stats"), keys.stats_key(shop, code), increments))

    def stats_for(self, shop: str, codes: Iterable[str]) -> dict[str, CodeStats]:
        """The summary counters and visit shards of each code (BatchGetItem, 100 keys a call)."""
        codes = list(dict.fromkeys(codes))
        wanted: dict[str, tuple[str, int | None]] = {}
        requested = []
        for code in codes:
            for shard, k in [(None, keys.stats_key(shop, code))] + [
                (n, keys.visits_key(shop, code, n)) for n in range(VISIT_SHARDS)
            ]:
                wanted[k["pk"]["S"]] = (code, shard)
                requested.append(_plain(k))
        try:
            found = paging.batch_get(keys.table("stats"), requested, consistent=False)
        except ServiceUnavailable:
            raise ServiceUnavailable("report storage is busy; retry shortly") from None
        summaries: dict[str, Counters] = {}
        shards: dict[str, list[VisitTally]] = {code: [] for code in codes}
        for item in found:
            code, shard = wanted[item["pk"]]
            if shard is None:
                summaries[code] = Counters.from_mapping(item)
            else:
                shards[code].append(VisitTally.of(item))
        return {code: CodeStats(summaries.get(code, Counters()), tuple(shards[code])) for code in codes}
