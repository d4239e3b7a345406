"""Templates, their history and their lucky amounts.

- A template is written once with its shards, lucky amounts and its first history entry;
  every later change is one transaction: the template, conditional on the version it was
  read at, and the history entry of the new version (``change``).
- A process keeps a template it read for ``CACHE_SECONDS`` (edits only widen what a claim
  may do, and pause/end are checked on the shards, ``domain.campaign``); the process that
  changes a template forgets its copy at once. Lucky amounts never change: kept until the
  cache is full.
- A shop's templates are listed through ``gsi1``, newest first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from campaign_shared.storage import codec, failures, paging, writes
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import (
    attribute_key,
    history_key,
    history_pk,
    lucky_chunk_of,
    lucky_key,
    shard_key,
    shop_templates_pk,
    table,
    template_key,
)
from chalicelib.coupons.store.records import Change, Shard, Template

CACHE_LIMIT = 4096
CACHE_SECONDS = 2.0
LISTED = "gsi1"


def _remember(cache: dict[tuple[str, str], Any], key: tuple[str, str], value: Any) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


# ``domain.campaign.template_status`` as filters: ended (by the merchant or the window), then
# paused, then scheduled, then active. Times are RFC 3339 UTC at second precision, so they
# compare as text. Each filter with the values it uses (DynamoDB refuses unused ones).
_OPEN = "(attribute_not_exists(valid_until) OR valid_until > :now)"
_RUNNING = "(attribute_not_exists(#status) OR #status = :active)"
STATUS_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ended": ("#status = :ended OR valid_until <= :now", ("ended",)),
    "paused": (f"#status = :paused AND {_OPEN}", ("paused",)),
    "scheduled": (f"{_RUNNING} AND valid_from > :now AND {_OPEN}", ("active",)),
    "active": (
        f"{_RUNNING} AND (attribute_not_exists(valid_from) OR valid_from <= :now) AND {_OPEN}",
        ("active",),
    ),
}


def _listing(shop: str, template: Template) -> dict[str, Any]:
    """The attributes that list a template in its shop (``gsi1``) and match it by name."""
    return {
        "gsi1pk": shop_templates_pk(shop),
        "gsi1sk": f"{template.created_at}#{template.template_id}",
        "name_folded": template.name.casefold(),
    }


class DynamoTemplates:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], tuple[float, Template]] = {}
        self._lucky: dict[tuple[str, str], list[int]] = {}
        self._changes = 0  # raised by every change this process makes (see ``get``)

    def create(
        self,
        shop: str,
        template: Template,
        caps: Sequence[int],
        lucky: Sequence[Sequence[int]],
        created: Change,
    ) -> None:
        tid = template.template_id
        children: list[dict[str, Any]] = [
            {**shard_key(shop, tid, n), **Shard(cap=cap).to_item()} for n, cap in enumerate(caps)
        ]
        children += [{**lucky_key(shop, tid, k), "amounts": list(amounts)} for k, amounts in enumerate(lucky)]
        children.append({**history_key(shop, tid, created.version), **created.to_item()})
        paging.batch_put(table(), children)
        # The id is new for this request: "already exists" means an earlier attempt of this same
        # call committed and its answer was lost (a retry after a dropped connection), so it is done.
        items.create(template_key(shop, tid), {**template.to_item(), **_listing(shop, template)})

    def get(self, shop: str, template_id: str, *, fresh: bool = False) -> Template | None:
        key = template_key(shop, template_id)
        cache_key = (table(), key["pk"])
        cached = self._templates.get(cache_key)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        changes = self._changes
        item = items.get(key)
        if item is None:
            self._templates.pop(cache_key, None)
            return None
        found = Template.from_item(item)
        if changes == self._changes:  # no change here meanwhile: this read is not older than one
            _remember(self._templates, cache_key, (time.monotonic(), found))
        return found

    def _forget(self, key: dict[str, str]) -> None:
        self._changes += 1
        self._templates.pop((table(), key["pk"]), None)

    def change(
        self,
        shop: str,
        seen: Template,
        sets: dict[str, Any],
        change: Change,
        pending: dict[str, list[int]],
        guard: str | None = None,
    ) -> bool:
        """Apply ``sets`` (and ``pending`` stock adds) to the template as of ``seen.version``,
        with the history entry ``change`` (its version is the next one); False when the
        template changed since it was read (read it again)."""
        key = template_key(shop, seen.template_id)
        values: dict[str, Any] = {"next": change.version}
        if seen.version:
            values["seen"] = seen.version
        names: dict[str, str] = {}
        # The listing attributes too: a template written before templates were listed joins
        # the list at its first change.
        parts = ["version = :next", "gsi1pk = :listed", "gsi1sk = :listed_at"]
        listing = _listing(shop, seen)
        values.update(listed=listing["gsi1pk"], listed_at=listing["gsi1sk"])
        if "name" not in sets:
            parts.append("name_folded = :folded")
            values["folded"] = listing["name_folded"]
        for n, (field, value) in enumerate(sets.items()):
            names[f"#f{n}"] = field
            values[f"v{n}"] = value
            parts.append(f"#f{n} = :v{n}")
        if "name" in sets:
            parts.append("name_folded = :folded")
            values["folded"] = str(sets["name"]).casefold()
        for n, (edit_id, shares) in enumerate(pending.items()):
            names[f"#e{n}"] = edit_id
            values[f"e{n}"] = shares
            parts.append(f"pending_adds.#e{n} = :e{n}")
        if pending:  # a template written before stock could be added has no map to add into
            items.update(key, "SET pending_adds = if_not_exists(pending_adds, :none)", values={"none": {}})
        guarded = ""
        if guard is not None:  # a change made once per guard (an invalidation's outcome)
            items.update(
                key,
                "SET #returns = if_not_exists(#returns, :none)",
                names={"#returns": "returns"},
                values={"none": {}},
            )
            names["#returns"], names["#g"] = "returns", guard
            values["guard"] = change.version
            parts.append("#returns.#g = :guard")
            guarded = " AND attribute_not_exists(#returns.#g)"
        condition = "version = :seen" if seen.version else "attribute_not_exists(version)"
        update: dict[str, Any] = {
            "TableName": table(),
            "Key": attribute_key(key),
            "UpdateExpression": "SET " + ", ".join(parts),
            "ConditionExpression": f"attribute_exists(pk) AND {condition}{guarded}",
            "ExpressionAttributeValues": codec.values(**values),
        }
        if names:
            update["ExpressionAttributeNames"] = names
        entry = codec.to_item({**history_key(shop, seen.template_id, change.version), **change.to_item()})
        put = {"TableName": table(), "Item": entry, "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            writes.transact([{"Update": update}, {"Put": put}], token=str(uuid.uuid4()))
        except Exception as exc:
            if failures.is_cancelled_transaction(exc):
                return False
            raise
        finally:
            self._forget(key)
        return True

    def finish_add(self, shop: str, template_id: str, edit_id: str) -> None:
        """Forget an added stock once it is on every shard."""
        items.update(template_key(shop, template_id), "REMOVE pending_adds.#e", names={"#e": edit_id})
        self._forget(template_key(shop, template_id))

    def page(
        self,
        shop: str,
        page: PageParams,
        *,
        status: str | None,
        kind: str | None,
        name: str | None,
        now_iso: str,
    ) -> tuple[list[Template], str | None]:
        """A page of the shop's templates, newest first, with that status now (the rules of
        ``domain.campaign.template_status`` as a filter), kind and text in the name."""
        parts: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if status is not None:
            expression, uses = STATUS_FILTERS[status]
            parts.append(expression)
            names["#status"] = "status"
            values.update(now=now_iso, **{name: name for name in uses})
        if kind is not None:
            parts.append("kind = :kind")
            values["kind"] = kind
        if name is not None:
            parts.append("contains(name_folded, :name)")
            values["name"] = name.casefold()
        found, cursor = paging.query_page(
            table=table(),
            index=LISTED,
            key_condition="gsi1pk = :shop",
            expression_values=codec.values(shop=shop_templates_pk(shop), **values),
            filter_expression=" AND ".join(f"({p})" for p in parts) or None,
            expression_names=names or None,
            page=page,
            forward=False,
        )
        return [Template.from_item(i) for i in found], cursor

    def history(self, shop: str, template_id: str, page: PageParams) -> tuple[list[Change], str | None]:
        """The template's changes, oldest first."""
        found, cursor = paging.query_page(
            table=table(),
            key_condition="pk = :pk",
            expression_values=codec.values(pk=history_pk(shop, template_id)),
            page=page,
            consistent=True,
        )
        return [Change.from_item(i) for i in found], cursor

    def lucky_amounts(self, shop: str, template_id: str, chunks: Sequence[int]) -> dict[int, list[int]]:
        name = table()
        result: dict[int, list[int]] = {}
        missing = []
        for chunk in dict.fromkeys(chunks):
            cached = self._lucky.get((name, lucky_key(shop, template_id, chunk)["pk"]))
            if cached is None:
                missing.append(chunk)
            else:
                result[chunk] = cached
        if missing:
            for item in paging.batch_get(name, [lucky_key(shop, template_id, c) for c in missing]):
                amounts = [int(a) for a in item["amounts"]]
                _remember(self._lucky, (name, item["pk"]), amounts)
                result[lucky_chunk_of(item["pk"])] = amounts
        return result
