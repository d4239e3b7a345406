"""In-memory repositories of the sharing features (share links, one-time links and exchange
codes, gifts), honouring the same conditions as the DynamoDB ones (``fakes`` has the rest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from chalicelib.coupons.store.records import Budget, Code, CodeBatch, Gift, LinkTally, ShareLink

from .fakes import Key, _Counted
from .fakes_jobs import _add


class FakeShareLinks(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, ShareLink] = {}
        self.events: dict[Key, dict[str, Any]] = {}

    def create(self, shop: str, link: ShareLink) -> None:
        self._call("create")
        self.items.setdefault((shop, link.link_id), link)

    def get(self, shop: str, link_id: str) -> ShareLink | None:
        self._call("get")
        return self.items.get((shop, link_id))

    def page(self, shop: str, template_id: str, page: Any) -> tuple[list[ShareLink], str | None]:
        self._call("page")
        return [v for (s, _), v in self.items.items() if s == shop and v.template_id == template_id], None

    def record_claim(self, shop: str, link_id: str, coupon_id: str, customer_id: str, at: str) -> None:
        self._call("record_claim")
        self.events.setdefault((shop, link_id, "claim", coupon_id), {"customer_id": customer_id})

    def record_redemption(
        self, shop: str, link_id: str, coupon_id: str, order_id: str, gmv: int, discount: int, at: str
    ) -> None:
        self._call("record_redemption")
        self.events.setdefault((shop, link_id, "redeem", coupon_id), {"gmv": gmv, "discount": discount})

    def tally(self, shop: str, link_id: str) -> LinkTally:
        self._call("tally")
        mine = [(k[2], v) for k, v in self.events.items() if k[:2] == (shop, link_id)]
        redeemed = [v for kind, v in mine if kind == "redeem"]
        return LinkTally(
            sum(1 for kind, _ in mine if kind == "claim"),
            len(redeemed),
            sum(v["gmv"] for v in redeemed),
            sum(v["discount"] for v in redeemed),
        )


class FakeCodes(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.batches: dict[Key, CodeBatch] = {}
        self.items: dict[Key, Code] = {}
        self.attempts: dict[Key, int] = {}

    def _key(self, shop: str, code: Code) -> Key:
        return (shop, "x", code.code) if code.code is not None else (shop, code.batch_id, str(code.index))

    def create_batch(self, shop: str, batch: CodeBatch) -> None:
        self._call("create_batch")
        self.batches.setdefault((shop, batch.batch_id), batch)

    def get_batch(self, shop: str, batch_id: str) -> CodeBatch | None:
        self._call("get_batch")
        return self.batches.get((shop, batch_id))

    def mark_started(self, shop: str, batch_id: str) -> None:
        self.batches[(shop, batch_id)] = dataclasses.replace(self.batches[(shop, batch_id)], started=True)

    def complete_chunk(
        self, shop: str, batch_id: str, chunk: int, written: int, skipped: dict[str, int]
    ) -> bool:
        self._call("complete_chunk")
        batch = self.batches[(shop, batch_id)]
        if str(chunk) in batch.done_chunks:
            return False
        self.batches[(shop, batch_id)] = dataclasses.replace(
            batch,
            written=batch.written + written,
            skipped_by=_add(batch.skipped_by, skipped),
            done_chunks=batch.done_chunks | {str(chunk)},
        )
        return True

    def mark_dead(self, shop: str, batch_id: str, chunk: int, size: int) -> bool:
        batch = self.batches[(shop, batch_id)]
        if str(chunk) in batch.done_chunks:
            return False
        self.batches[(shop, batch_id)] = dataclasses.replace(
            batch,
            skipped_by=_add(batch.skipped_by, {"dead_lettered": size}),
            done_chunks=batch.done_chunks | {str(chunk)},
            dead_chunks=batch.dead_chunks | {str(chunk)},
        )
        return True

    def put(self, shop: str, codes: Sequence[Code], expires: int | None) -> None:
        self._call("put")
        for code in codes:
            self.items[self._key(shop, code)] = code

    def create_exchange(self, shop: str, codes: Sequence[Code], expires: int | None) -> list[Code]:
        mine = []
        for code in codes:
            current = self.items.setdefault(self._key(shop, code), code)
            if (current.batch_id, current.index) == (code.batch_id, code.index):
                mine.append(code)
        return mine

    def existing_exchange(self, shop: str, codes: Sequence[str]) -> dict[str, Code]:
        self._call("existing_exchange")
        return {c: self.items[(shop, "x", c)] for c in codes if (shop, "x", c) in self.items}

    def get_link(self, shop: str, batch_id: str, index: int) -> Code | None:
        return self.items.get((shop, batch_id, str(index)))

    def get_exchange(self, shop: str, code: str) -> Code | None:
        return self.items.get((shop, "x", code))

    def page(self, shop: str, batch: CodeBatch, page: Any) -> tuple[list[Code], str | None]:
        mine = [c for k, c in self.items.items() if k[0] == shop and c.batch_id == batch.batch_id]
        return sorted(mine, key=lambda c: c.index), None

    def claim(
        self, shop: str, code: Code, customer_id: str, coupon_id: str, at: str
    ) -> tuple[bool, Code | None]:
        self._call("claim")
        key = self._key(shop, code)
        current = self.items.get(key)
        if current is None or current.customer_id not in (None, customer_id):
            return False, current
        self.items[key] = dataclasses.replace(
            current, customer_id=customer_id, coupon_id=coupon_id, claimed_at=at
        )
        return True, self.items[key]

    def count_attempt(self, shop: str, customer_id: str, window: int, expires: int) -> int:
        key = (shop, customer_id, str(window))
        self.attempts[key] = self.attempts.get(key, 0) + 1
        return self.attempts[key]

    def forgive_attempt(self, shop: str, customer_id: str, window: int) -> None:
        key = (shop, customer_id, str(window))
        self.attempts[key] = self.attempts.get(key, 0) - 1


class FakeGifts(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Gift] = {}

    def create(self, shop: str, gift: Gift) -> None:
        self.items.setdefault((shop, gift.gift_id), gift)

    def get(self, shop: str, gift_id: str) -> Gift | None:
        return self.items.get((shop, gift_id))

    def accept(self, shop: str, gift_id: str, receiver: str, now_iso: str) -> tuple[bool, Gift | None]:
        current = self.items.get((shop, gift_id))
        if current is None:
            return False, None
        if current.status == "accepted" and current.receiver == receiver:
            return True, current
        if current.status != "open" or current.expires_at <= now_iso:
            return False, current
        self.items[(shop, gift_id)] = dataclasses.replace(
            current, status="accepted", receiver=receiver, accepted_at=now_iso
        )
        return True, self.items[(shop, gift_id)]

    def cancel(self, shop: str, gift_id: str) -> tuple[bool, Gift | None]:
        current = self.items.get((shop, gift_id))
        if current is None or current.status not in ("open", "cancelled"):
            return False, current
        self.items[(shop, gift_id)] = dataclasses.replace(current, status="cancelled")
        return True, self.items[(shop, gift_id)]


class FakeBudgets(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Budget] = {}

    def create(self, shop: str, template_id: str) -> None:
        self.items.setdefault((shop, template_id), Budget())

    def get(self, shop: str, template_id: str) -> Budget:
        return self.items.get((shop, template_id), Budget())

    def _set(
        self, shop: str, template_id: str, used: int, holds: dict[str, int], until: dict[str, str]
    ) -> None:
        self.items[(shop, template_id)] = Budget(used, holds, until)

    def reserve(
        self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str, limit: int
    ) -> Any:
        self._call("reserve")
        b = self.get(shop, template_id)
        if coupon_id in b.holds:
            self._set(shop, template_id, b.used, b.holds, {**b.hold_until, coupon_id: until_iso})
            return "held"
        if b.used > limit - amount:
            return "exhausted"
        self._set(
            shop,
            template_id,
            b.used + amount,
            {**b.holds, coupon_id: amount},
            {**b.hold_until, coupon_id: until_iso},
        )
        return "reserved"

    def _drop(self, shop: str, template_id: str, coupon_id: str, delta: int) -> None:
        b = self.get(shop, template_id)
        holds = {k: v for k, v in b.holds.items() if k != coupon_id}
        until = {k: v for k, v in b.hold_until.items() if k != coupon_id}
        self._set(shop, template_id, b.used + delta, holds, until)

    def release(self, shop: str, template_id: str, coupon_id: str, amount: int) -> None:
        if self.get(shop, template_id).holds.get(coupon_id) == amount:
            self._drop(shop, template_id, coupon_id, -amount)

    def reclaim(self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str) -> None:
        b = self.get(shop, template_id)
        if b.holds.get(coupon_id) == amount and b.hold_until.get(coupon_id) == until_iso:
            self._drop(shop, template_id, coupon_id, -amount)

    def settle(self, shop: str, template_id: str, coupon_id: str, held: int, taken: int) -> bool:
        if self.get(shop, template_id).holds.get(coupon_id) != held:
            return False
        self._drop(shop, template_id, coupon_id, taken - held)
        return True
