"""Templates and their stock in the coupons table (keys and helpers from ``store``).

Templates and lucky amounts never change once written, so a process keeps what it read once.
"""

from __future__ import annotations

from typing import Any

from chalicelib.coupons.store import (
    batch_get,
    batch_put,
    get,
    lucky_key,
    put_new,
    shard_key,
    table,
    template_key,
    update,
)

_templates: dict[tuple[str, str], dict[str, Any]] = {}
_lucky: dict[tuple[str, str], list[int]] = {}
_CACHE_LIMIT = 4096


def _remember(cache: dict, key: tuple[str, str], value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def create_template(shop: str, template: dict[str, Any], caps: list[int], lucky: list[list[int]]) -> None:
    """Shards and lucky amounts first, the template last: a template that exists is complete."""
    tid = template["template_id"]
    children = [
        {**shard_key(shop, tid, n), "cap": cap, "taken": 0, "redeemed": 0, "inflight": {}}
        for n, cap in enumerate(caps)
    ]
    children += [{**lucky_key(shop, tid, k), "amounts": amounts} for k, amounts in enumerate(lucky)]
    batch_put(children)
    # The id is new for this request: "already exists" means an earlier attempt of this same
    # call committed and its answer was lost (a retry after a dropped connection), so it is done.
    put_new(template_key(shop, tid), template)


def get_template(shop: str, template_id: str) -> dict[str, Any] | None:
    """The template's terms (immutable, so a process keeps what it read once)."""
    cache_key = (table(), template_key(shop, template_id)["pk"])
    found = _templates.get(cache_key)
    if found is None:
        found = get(template_key(shop, template_id), consistent=True)
        if found is not None:
            _remember(_templates, cache_key, found)
    return found


def get_shards(shop: str, template_id: str, count: int) -> list[dict[str, Any]]:
    """Every stock shard of a template, in shard order (one consistent BatchGetItem)."""
    keys = [shard_key(shop, template_id, n) for n in range(count)]
    by_pk = {item["pk"]: item for item in batch_get(keys)}
    return [by_pk.get(k["pk"], {"cap": 0, "taken": 0, "redeemed": 0}) for k in keys]


def lucky_amounts(shop: str, template_id: str, chunks: list[int]) -> dict[int, list[int]]:
    """Lucky amounts by chunk number (immutable, cached)."""
    name = table()
    result: dict[int, list[int]] = {}
    missing = []
    for chunk in dict.fromkeys(chunks):
        cached = _lucky.get((name, lucky_key(shop, template_id, chunk)["pk"]))
        if cached is None:
            missing.append(chunk)
        else:
            result[chunk] = cached
    if missing:
        for item in batch_get([lucky_key(shop, template_id, c) for c in missing]):
            chunk = int(item["pk"].rsplit("#", 1)[1])
            amounts = [int(a) for a in item["amounts"]]
            _remember(_lucky, (name, item["pk"]), amounts)
            result[chunk] = amounts
    return result


def take_block(
    shop: str, template_id: str, shard: int, cap: int, want: int, op: str
) -> tuple[int, int] | int:
    """Up to ``want`` units for operation ``op`` (a grant or a bulk chunk), exactly once.

    Returns ``(offset, count)`` of the block, or the units left when fewer than ``want``.
    The block is recorded in the shard's ``inflight`` map in the same write, so a retried
    operation gets its block back instead of taking another; ``finish_block`` forgets it.
    """
    ok, attrs = update(
        shard_key(shop, template_id, shard),
        "SET taken = taken + :k, inflight.#s = taken, inflight.#c = :k",
        "taken <= :most AND attribute_not_exists(inflight.#s)",
        names={"#s": f"{op}:s", "#c": f"{op}:c"},
        values={"k": want, "most": cap - want},
        returns="UPDATED_NEW",
    )
    if ok:
        return int(attrs["taken"]) - want, want
    inflight = attrs.get("inflight") or {}
    if f"{op}:s" in inflight:
        return int(inflight[f"{op}:s"]), int(inflight[f"{op}:c"])
    return max(0, cap - int(attrs.get("taken", cap)))


def finish_block(shop: str, template_id: str, shard: int, op: str) -> None:
    update(
        shard_key(shop, template_id, shard),
        "REMOVE inflight.#s, inflight.#c",
        names={"#s": f"{op}:s", "#c": f"{op}:c"},
    )
