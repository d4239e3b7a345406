"""One-time claim links and exchange codes, and their batches (``keys`` has the layout).

A batch's links are written blind (their tokens are secret until the batch is done, so
nobody can have claimed one that a retried chunk writes again); exchange codes are keyed by
the code and each is written only if the shop does not have it (a conditional put), so two
batches importing one code at once cannot both hold it. Claiming is one conditional
write: the code gets its customer once, and the same customer again finds it theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from campaign_shared.storage import codec, paging
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.store import table as items
from chalicelib.coupons.store.keys import (
    LINK_CODE_PREFIX,
    Key,
    attempts_key,
    batch_key,
    batch_pk,
    exchange_batch_pk,
    exchange_key,
    link_code_key,
    table,
)
from chalicelib.coupons.store.records import SKIPPED_PREFIX, Code, CodeBatch
from chalicelib.coupons.store.table import expiry

LISTED = "gsi1"
DEAD_LETTERED = "dead_lettered"


def _key(shop: str, code: Code) -> Key:
    if code.code is not None:
        return exchange_key(shop, code.code)
    return link_code_key(shop, code.batch_id, code.index)


def _item(shop: str, code: Code, expires: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {**code.to_item(), **_key(shop, code)}
    if code.code is not None:
        item.update(gsi1pk=exchange_batch_pk(shop, code.batch_id), gsi1sk=f"{code.index:06d}")
    if expires is not None:
        item["expires_at_epoch"] = expires
    return item


class DynamoCodes:
    def create_batch(self, shop: str, batch: CodeBatch) -> None:
        items.create(batch_key(shop, batch.batch_id), {**batch.to_item(), "expires_at_epoch": expiry()})

    def get_batch(self, shop: str, batch_id: str) -> CodeBatch | None:
        item = items.get(batch_key(shop, batch_id))
        return CodeBatch.from_item(item) if item else None

    def mark_started(self, shop: str, batch_id: str) -> None:
        items.update(batch_key(shop, batch_id), "SET started = :yes", values={"yes": True})

    def complete_chunk(
        self, shop: str, batch_id: str, chunk: int, written: int, skipped: dict[str, int], size: int = 0
    ) -> bool:
        """Add a chunk's counts once. A chunk recorded as dead-lettered (``size`` codes counted
        ``dead_lettered``) gets its real counts instead, once."""
        names = {f"#s{n}": SKIPPED_PREFIX + code for n, code in enumerate(skipped)}
        values: dict[str, Any] = {f"s{n}": count for n, count in enumerate(skipped.values())}
        adds = "".join(f", #s{n} :s{n}" for n in range(len(skipped)))
        values.update(w=written, chunk={str(chunk)}, c=str(chunk))
        key = batch_key(shop, batch_id)
        done = items.update(
            key,
            f"ADD written :w, done_chunks :chunk{adds}",
            "NOT contains(done_chunks, :c)",
            names=names or None,
            values=values,
        )
        if done.applied or str(chunk) not in ((done.item or {}).get("dead_chunks") or ()):
            return done.applied
        names["#dead"] = f"{SKIPPED_PREFIX}{DEAD_LETTERED}"
        return items.update(
            key,
            f"ADD written :w, #dead :undead{adds} DELETE dead_chunks :chunk",
            "contains(dead_chunks, :c)",
            names=names,
            values={**values, "undead": -size},
        ).applied

    def mark_dead(self, shop: str, batch_id: str, chunk: int, size: int) -> bool:
        """Record a chunk on its last receive as done, its codes ``dead_lettered``."""
        return items.update(
            batch_key(shop, batch_id),
            "ADD #dead :n, done_chunks :chunk, dead_chunks :chunk",
            "attribute_exists(pk) AND NOT contains(done_chunks, :c)",
            names={"#dead": f"{SKIPPED_PREFIX}{DEAD_LETTERED}"},
            values={"n": size, "chunk": {str(chunk)}, "c": str(chunk)},
        ).applied

    def put(self, shop: str, codes: Sequence[Code], expires: int | None) -> None:
        paging.batch_put(table(), [_item(shop, c, expires) for c in codes])

    def create_exchange(self, shop: str, codes: Sequence[Code], expires: int | None) -> list[Code]:
        """Write each exchange code unless the shop has it: the codes that are this batch's
        now (written here, or by an earlier attempt of the same chunk)."""
        mine = []
        for code in codes:
            item = _item(shop, code, expires)
            written = items.create(_key(shop, code), {k: v for k, v in item.items() if k not in ("pk", "sk")})
            old = written.item or {}
            if written.applied or (
                old.get("batch_id") == code.batch_id and int(old.get("index", -1)) == code.index
            ):
                mine.append(code)
        return mine

    def existing_exchange(self, shop: str, codes: Sequence[str]) -> dict[str, Code]:
        found = paging.batch_get(table(), [exchange_key(shop, c) for c in codes]) if codes else []
        return {str(i["code"]): Code.from_item(i) for i in found}

    def get_link(self, shop: str, batch_id: str, index: int) -> Code | None:
        item = items.get(link_code_key(shop, batch_id, index))
        return Code.from_item(item) if item else None

    def get_exchange(self, shop: str, code: str) -> Code | None:
        item = items.get(exchange_key(shop, code))
        return Code.from_item(item) if item else None

    def page(self, shop: str, batch: CodeBatch, page: PageParams) -> tuple[list[Code], str | None]:
        if batch.kind == "link":
            found, cursor = paging.query_page(
                table=table(),
                key_condition="pk = :pk AND begins_with(sk, :prefix)",
                expression_values=codec.values(pk=batch_pk(shop, batch.batch_id), prefix=LINK_CODE_PREFIX),
                page=page,
                consistent=True,
            )
        else:
            found, cursor = paging.query_page(
                table=table(),
                index=LISTED,
                key_condition="gsi1pk = :pk",
                expression_values=codec.values(pk=exchange_batch_pk(shop, batch.batch_id)),
                page=page,
            )
        return [Code.from_item(i) for i in found], cursor

    def claim(
        self, shop: str, code: Code, customer_id: str, coupon_id: str, at: str
    ) -> tuple[bool, Code | None]:
        written = items.update(
            _key(shop, code),
            "SET customer_id = :me, coupon_id = :coupon, claimed_at = :at",
            "attribute_exists(pk) AND (attribute_not_exists(customer_id) OR customer_id = :me)",
            values={"me": customer_id, "coupon": coupon_id, "at": at},
            mine=lambda old: old.get("customer_id") == customer_id,
            returns="ALL_NEW",
        )
        return written.applied, Code.from_item(written.item) if written.item else None

    def count_attempt(self, shop: str, customer_id: str, window: int, expires: int) -> int:
        written = items.update(
            attempts_key(shop, customer_id, window),
            "ADD n :one SET expires_at_epoch = :exp",
            values={"one": 1, "exp": expires},
            returns="UPDATED_NEW",
        )
        return int((written.item or {}).get("n", 1))

    def forgive_attempt(self, shop: str, customer_id: str, window: int) -> None:
        items.update(attempts_key(shop, customer_id, window), "ADD n :minus", values={"minus": -1})
