"""Order records (``order#<shop>#<order>`` / ``order``): an order's accepted facts
(``version``ed), the marks of the entry groups they imply (``applied``: group -> a claim or
a done mark, see ``records``; a group whose entries are all in the ledger is posted even
while its mark is a claim, see ``usecases.posting``), and the settlement index (gsi1:
``settle#<shop>`` by due time until the settlement is posted). Marks are read in both
spellings (``records``: the ``{"s","t","u"}`` rename)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from campaign_shared import aws
from campaign_shared.storage import codec, paging, retry, writes
from chalicelib.distribution.domain import PAID, UNPAID, Order
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.records import (
    BUSINESS_FIELDS,
    CLAIMED,
    MARK_STATUS,
    MARK_TOKEN,
    MARK_UNTIL,
    OLD_MARK_STATUS,
    OLD_MARK_UNTIL,
    Claim,
    Done,
    OrderRecord,
    business_fields,
)

UNPAID_TTL_DAYS = 90
UNATTRIBUTED_TTL_DAYS = 400
RELEASE_ATTEMPTS = 4
MARK_NAMES = {
    "#st": MARK_STATUS,
    "#tk": MARK_TOKEN,
    "#un": MARK_UNTIL,
    "#ost": OLD_MARK_STATUS,
    "#oun": OLD_MARK_UNTIL,
}


class Orders:
    def get(self, shop: str, order_id: str) -> OrderRecord | None:
        item = table.get(keys.order_key(shop, order_id))
        return OrderRecord.from_item(item) if item else None

    def get_many(self, shop: str, order_ids: Iterable[str]) -> list[OrderRecord]:
        """The records of ``order_ids`` that exist (batch reads, eventually consistent)."""
        wanted = [{"pk": keys.order_pk(shop, o), "sk": keys.ORDER} for o in dict.fromkeys(order_ids)]
        if not wanted:
            return []
        return [OrderRecord.from_item(i) for i in paging.batch_get(table.name(), wanted, consistent=False)]

    def save(self, order: Order, expected_version: int, now_epoch: int, claims: dict[str, Claim]) -> bool:
        """Write an order's facts if its stored version is still ``expected_version`` (0: new),
        claiming the groups the new facts imply in the same write (``claims``: key -> claim).
        Never overwrites other groups' claims or marks, which deliveries set concurrently.

        A retry of this very write (its answer was lost) finds its own claim token: it is this
        call's save, not a rival's, so it succeeds again instead of reading as "busy"."""
        names: dict[str, str] = {}
        vals: dict[str, Any] = {"version": order.version, "shop": order.shop, "order_id": order.order_id}
        sets = ["version = :version", "shop = :shop", "order_id = :order_id"]
        if expected_version == 0:
            sets.append("applied = :applied")
            vals["applied"] = {group: claim.to_dict() for group, claim in claims.items()}
        else:
            for i, (group, claim) in enumerate(claims.items()):
                names[f"#c{i}"] = group
                sets.append(f"applied.#c{i} = :c{i}")
                vals[f"c{i}"] = claim.to_dict()
        removes = []
        for i, (name, value) in enumerate(business_fields(order).items()):
            names[f"#f{i}"] = name
            if value is not None:
                sets.append(f"#f{i} = :f{i}")
                vals[f"f{i}"] = value
            else:
                removes.append(f"#f{i}")
        if order.state == PAID and not order.settled_at:
            sets += ["gsi1pk = :gpk", "gsi1sk = :gsk"]
            vals.update(
                gpk=keys.settle_pk(order.shop), gsk=keys.settle_sk(order.settle_due_at or "", order.order_id)
            )
        elif order.state != PAID:
            removes += ["gsi1pk", "gsi1sk"]
        if order.state == PAID:
            removes.append("expires_at_epoch")
        else:
            days = UNPAID_TTL_DAYS if order.state == UNPAID else UNATTRIBUTED_TTL_DAYS
            sets.append("expires_at_epoch = :ttl")
            vals["ttl"] = now_epoch + days * 86400
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "version = :expected"
            vals["expected"] = expected_version
        own = next(iter(claims.items()), None)

        def mine(existing: dict[str, Any]) -> bool:
            if own is None:
                return False
            found = OrderRecord.from_item(existing)
            return found.order.version == order.version and found.applied.get(own[0]) == own[1]

        return writes.update(
            table.name(),
            keys.order_key(order.shop, order.order_id),
            update="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            condition=condition,
            names=names,
            values=codec.values(**vals),
            mine=mine,
            returns="NONE",
        ).applied

    def claim_group(self, shop: str, order_id: str, group: str, claim: Claim, now_epoch: int) -> bool:
        """Claim a group of an order for posting: free, or claimed by a delivery whose claim has
        expired (in either spelling). False when it is done or another live delivery holds it."""
        return writes.update(
            table.name(),
            keys.order_key(shop, order_id),
            update="SET applied.#g = :claim",
            condition="attribute_exists(pk) AND (attribute_not_exists(applied.#g)"
            " OR (applied.#g.#st = :claimed AND (applied.#g.#un < :now OR applied.#g.#tk = :token))"
            " OR (applied.#g.#ost = :claimed AND applied.#g.#oun < :now))",
            names={"#g": group, **MARK_NAMES},
            values=codec.values(claim=claim.to_dict(), claimed=CLAIMED, now=now_epoch, token=claim.token),
            returns="NONE",
        ).applied

    def release_group(self, shop: str, order_id: str, group: str, token: str) -> None:
        """Give a claim back (after a failure), unless it is done or no longer ours. Retried a
        few times, then given up: the claim expires anyway, but a claim left behind holds the
        group's redeliveries off until then."""

        def release() -> None:
            writes.update(
                table.name(),
                keys.order_key(shop, order_id),
                update="REMOVE applied.#g",
                condition="applied.#g.#tk = :t AND applied.#g.#st = :claimed",
                names={"#g": group, "#st": MARK_STATUS, "#tk": MARK_TOKEN},
                values=codec.values(t=token, claimed=CLAIMED),
                returns="NONE",
            )

        try:
            retry.with_retries(release, attempts=RELEASE_ATTEMPTS, base=0.02)
        except Exception:  # best effort: the claim expires anyway
            return

    def mark_done(
        self,
        shop: str,
        order_id: str,
        groups: list[str],
        at: str,
        *,
        unindex: bool = False,
    ) -> None:
        """Mark groups done (their balance change and entries are written); with ``unindex``,
        leave the settlement index (the order is settled and every group is done)."""
        names = {f"#g{i}": group for i, group in enumerate(groups)}
        sets = [f"applied.#g{i} = :done" for i in range(len(groups))]
        vals: dict[str, Any] = {"done": Done(at).to_dict()} if groups else {}
        if not sets and not unindex:
            return
        expression = ("SET " + ", ".join(sets) if sets else "") + (
            " REMOVE gsi1pk, gsi1sk" if unindex else ""
        )
        writes.update(
            table.name(),
            keys.order_key(shop, order_id),
            update=expression.strip(),
            names=names or None,
            values=codec.values(**vals) if vals else None,
            returns="NONE",
        )

    def due_orders(self, shop: str, as_of: str, limit: int) -> list[str]:
        """Ids of paid orders of a shop due at or before ``as_of`` whose settlement is not
        posted yet (oldest first): one page of at most ``limit``."""
        response = aws.dynamodb().query(
            TableName=table.name(),
            IndexName=keys.GSI,
            KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :k",
            ExpressionAttributeValues=codec.values(p=keys.settle_pk(shop), k=f"{as_of}~"),
            Limit=limit,
        )
        return [str((codec.from_item(i) or {})["order_id"]) for i in response.get("Items", [])]


__all__ = ["BUSINESS_FIELDS", "Orders"]
