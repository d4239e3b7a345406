"""Withdrawals (``dist#...`` / ``wd#<withdrawal_id>``, see ``withdrawal_record``): written
once by the request, then moved through the review by conditional status transitions; the
release or payout group is claimed in the same write (``posting``), like an order's groups."""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution.store import keys, table
from chalicelib.distribution.store.marks import MARK_TOKEN, MARK_UNTIL, Claim, Done
from chalicelib.distribution.store.withdrawal_record import WithdrawalReceipt

# The fields a transition may set besides the status (the review's facts).
REVIEW_FIELDS = ("reason", "payout_reference", "reviewed_at", "paid_at", "failed_at")


class Withdrawals:
    def get(self, shop: str, distributor_id: str, withdrawal_id: str) -> WithdrawalReceipt | None:
        item = table.get(keys.withdrawal_key(shop, distributor_id, withdrawal_id))
        return WithdrawalReceipt.from_item(item) if item else None

    def put(self, shop: str, distributor_id: str, receipt: WithdrawalReceipt) -> None:
        """Record a withdrawal once (the first one written stays: a later put never undoes a
        review)."""
        writes.create(table.name(), receipt.to_item(shop, distributor_id))

    def transition(
        self,
        shop: str,
        distributor_id: str,
        withdrawal_id: str,
        *,
        source: str,
        target: str,
        changes: dict[str, str],
        at: str,
        claim: Claim | None,
    ) -> bool:
        """Move a withdrawal from ``source`` to ``target`` (and the merchant's queue with it),
        setting ``changes`` (``REVIEW_FIELDS``) and, when money moves, the claim on its group.
        False when its status is no longer ``source`` (unless the item already carries this
        request's claim: a retry after a lost answer)."""
        unknown = set(changes) - set(REVIEW_FIELDS)
        if unknown:
            raise ValueError(f"not review fields: {sorted(unknown)}")
        sets = ["#s = :to", "gsi1pk = :queue", "updated_at = :at"]
        names = {"#s": "status"}
        values: dict[str, Any] = {
            "to": target,
            "from": source,
            "queue": keys.withdrawal_queue_pk(shop, target),
            "at": at,
        }
        for n, (name, value) in enumerate(sorted(changes.items())):
            sets.append(f"#f{n} = :f{n}")
            names[f"#f{n}"] = name
            values[f"f{n}"] = value
        if claim is not None:
            sets.append("posting = :posting")
            values["posting"] = claim.to_dict()

        def mine(item: dict[str, Any]) -> bool:
            token = (item.get("posting") or {}).get(MARK_TOKEN)
            return claim is not None and item.get("status") == target and token == claim.token

        return writes.update(
            table.name(),
            keys.withdrawal_key(shop, distributor_id, withdrawal_id),
            update="SET " + ", ".join(sets),
            condition="#s = :from",
            names=names,
            values=codec.values(**values),
            mine=mine,
            returns="NONE",
        ).applied

    def take_over(
        self, shop: str, distributor_id: str, withdrawal_id: str, old_token: str, claim: Claim
    ) -> bool:
        """Replace an expired claim (``old_token``) on the group with ``claim``."""
        return writes.update(
            table.name(),
            keys.withdrawal_key(shop, distributor_id, withdrawal_id),
            update="SET posting = :posting",
            condition="posting.#t = :old",
            names={"#t": MARK_TOKEN},
            values=codec.values(posting=claim.to_dict(), old=old_token),
            mine=lambda item: (item.get("posting") or {}).get(MARK_TOKEN) == claim.token,
            returns="NONE",
        ).applied

    def release(self, shop: str, distributor_id: str, withdrawal_id: str, token: str) -> None:
        """Let the group be taken over at once (a request that failed before posting it)."""
        writes.update(
            table.name(),
            keys.withdrawal_key(shop, distributor_id, withdrawal_id),
            update="SET posting.#u = :zero",
            condition="posting.#t = :token",
            names={"#t": MARK_TOKEN, "#u": MARK_UNTIL},
            values=codec.values(zero=0, token=token),
            returns="NONE",
        )

    def mark_posted(self, shop: str, distributor_id: str, withdrawal_id: str, at: str) -> None:
        """The group's balance change and entry are written: nobody posts it again."""
        writes.update(
            table.name(),
            keys.withdrawal_key(shop, distributor_id, withdrawal_id),
            update="SET posting = :done",
            condition="attribute_exists(pk)",
            values=codec.values(done=Done(at).to_dict()),
            returns="NONE",
        )

    def queue_page(
        self, shop: str, status: str, start: str, end: str, page: paging.PageParams
    ) -> tuple[list[WithdrawalReceipt], str | None]:
        """The shop's withdrawals of one status requested in [start, end], oldest first."""
        items, cursor = paging.query_page(
            table=table.name(),
            index=keys.GSI,
            key_condition="gsi1pk = :q AND gsi1sk BETWEEN :lo AND :hi",
            expression_values=codec.values(q=keys.withdrawal_queue_pk(shop, status), lo=start, hi=end + "~"),
            page=page,
        )
        return [WithdrawalReceipt.from_item(i) for i in items], cursor
