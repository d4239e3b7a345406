"""In-memory repositories of the coupons service (``store.ports``), honouring the same
conditions as the DynamoDB ones: a conditional write that is refused changes nothing, a
block or a count recorded under an operation is recognised when that operation comes back,
a coupon is created only once.

``Faults`` injects what the protocols must survive: a crash right after a write committed
(``crash_after``), and a write whose answer was lost and that the client sent again
(``lost_answer``: applied, then applied again, and the caller sees the second answer).
Every fake counts its calls (``calls``), so a test can say how many storage calls a use case
makes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.coupons.store.records import (
    Change,
    Coupon,
    Refused,
    Shard,
    ShopSettings,
    Template,
)
from chalicelib.coupons.usecases import Stores

from .faults import Crash as Crash
from .faults import Faults as Faults

Key = tuple[str, ...]


class _Counted:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def _call(self, name: str) -> None:
        self.calls[name] += 1


class FakeTemplates(_Counted):
    def __init__(self, stock: FakeStock) -> None:
        super().__init__()
        self.stock = stock
        self.items: dict[Key, Template] = {}
        self.lucky: dict[Key, list[int]] = {}
        self.changes: dict[Key, list[Change]] = {}

    def create(
        self,
        shop: str,
        template: Template,
        caps: Sequence[int],
        lucky: Sequence[Sequence[int]],
        created: Change | None = None,
    ) -> None:
        self._call("create")
        for n, cap in enumerate(caps):
            self.stock.items[(shop, template.template_id, str(n))] = Shard(cap=cap)
        for k, amounts in enumerate(lucky):
            self.lucky[(shop, template.template_id, str(k))] = list(amounts)
        if created is not None:
            self.changes.setdefault((shop, template.template_id), [created])
        self.items.setdefault((shop, template.template_id), template)

    def get(self, shop: str, template_id: str, *, fresh: bool = False) -> Template | None:
        self._call("get")
        return self.items.get((shop, template_id))

    def change(
        self,
        shop: str,
        seen: Template,
        sets: dict[str, Any],
        change: Change,
        pending: dict[str, list[int]],
        guard: str | None = None,
    ) -> bool:
        self._call("change")
        key = (shop, seen.template_id)
        current = self.items.get(key)
        if (
            current is None
            or current.version != seen.version
            or (guard is not None and guard in current.returns)
        ):
            return False
        if guard is not None:
            sets = {**sets, "returns": current.returns | {guard}}
        adds = {**current.pending_adds, **pending}
        self.items[key] = dataclasses.replace(current, **sets, version=change.version, pending_adds=adds)
        self.changes.setdefault(key, []).append(change)
        return True

    def finish_add(self, shop: str, template_id: str, edit_id: str) -> None:
        self._call("finish_add")
        current = self.items[(shop, template_id)]
        adds = {k: v for k, v in current.pending_adds.items() if k != edit_id}
        self.items[(shop, template_id)] = dataclasses.replace(current, pending_adds=adds)

    def history(self, shop: str, template_id: str, page: Any) -> tuple[list[Change], str | None]:
        self._call("history")
        return list(self.changes.get((shop, template_id), [])), None

    def lucky_amounts(self, shop: str, template_id: str, chunks: Sequence[int]) -> dict[int, list[int]]:
        self._call("lucky_amounts")
        return {
            c: self.lucky[(shop, template_id, str(c))]
            for c in chunks
            if (shop, template_id, str(c)) in self.lucky
        }


class FakeStock(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Shard] = {}

    def _shard(self, shop: str, template_id: str, shard: int) -> Shard:
        return self.items.get((shop, template_id, str(shard)), Shard())

    def _put(self, shop: str, template_id: str, shard: int, value: Shard) -> None:
        self.items[(shop, template_id, str(shard))] = value

    def shards(self, shop: str, template_id: str, count: int) -> list[Shard]:
        self._call("shards")
        return [self._shard(shop, template_id, n) for n in range(count)]

    def shards_of(self, shop: str, templates: Sequence[tuple[str, int]]) -> dict[str, list[Shard]]:
        self._call("shards_of")
        return {tid: [self._shard(shop, tid, n) for n in range(count)] for tid, count in templates}

    def take_block(
        self, shop: str, template_id: str, shard: int, cap: int, want: int, op: str
    ) -> tuple[int, int] | Refused:
        self._call("take_block")
        current = self._shard(shop, template_id, shard)
        room = (
            current.taken < current.cap if want == 1 else current.cap == cap and current.taken <= cap - want
        )
        if room and f"{op}:s" not in current.inflight and current.halted is None:
            inflight = {**current.inflight, f"{op}:s": current.taken, f"{op}:c": want}
            self._put(
                shop,
                template_id,
                shard,
                dataclasses.replace(current, taken=current.taken + want, inflight=inflight),
            )
            return current.taken, want
        if f"{op}:s" in current.inflight:
            return int(current.inflight[f"{op}:s"]), int(current.inflight[f"{op}:c"])
        return Refused(max(0, current.cap - current.taken), current.cap, current.halted)

    def halt(self, shop: str, template_id: str, shard: int, status: str | None, version: int) -> None:
        self._call("halt")
        current = self._shard(shop, template_id, shard)
        if current.halt_version < version:
            self._put(
                shop, template_id, shard, dataclasses.replace(current, halted=status, halt_version=version)
            )

    def add_cap(self, shop: str, template_id: str, shard: int, units: int, edit_id: str) -> None:
        self._call("add_cap")
        current = self._shard(shop, template_id, shard)
        if f"add:{edit_id}" not in current.inflight:
            inflight = {**current.inflight, f"add:{edit_id}": units}
            self._put(
                shop,
                template_id,
                shard,
                dataclasses.replace(current, cap=current.cap + units, inflight=inflight),
            )

    def finish_block(self, shop: str, template_id: str, shard: int, op: str) -> None:
        self._call("finish_block")
        current = self._shard(shop, template_id, shard)
        inflight = {k: v for k, v in current.inflight.items() if k not in (f"{op}:s", f"{op}:c")}
        self._put(shop, template_id, shard, dataclasses.replace(current, inflight=inflight))

    def _marker(self, coupon: Coupon) -> str:
        return f"redeem:{coupon.coupon_id}"

    def redeem_marker(self, shop: str, coupon: Coupon) -> str | None:
        self._call("redeem_marker")
        value = self._shard(shop, coupon.template_id, coupon.shard).inflight.get(self._marker(coupon))
        return None if value is None else str(value)

    def count_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        self._call("count_redemption")
        current = self._shard(shop, coupon.template_id, coupon.shard)
        if self._marker(coupon) in current.inflight:
            return False
        inflight = {**current.inflight, self._marker(coupon): attempt}
        self._put(
            shop,
            coupon.template_id,
            coupon.shard,
            dataclasses.replace(
                current,
                redeemed=current.redeemed + 1,
                discount_total=current.discount_total + (coupon.discount_amount or 0),
                gmv_total=current.gmv_total + (coupon.order_paid_amount or 0),
                inflight=inflight,
            ),
        )
        return True

    def clear_redemption(self, shop: str, coupon: Coupon, attempt: str) -> None:
        self._call("clear_redemption")
        current = self._shard(shop, coupon.template_id, coupon.shard)
        if current.inflight.get(self._marker(coupon)) == attempt:
            inflight = {k: v for k, v in current.inflight.items() if k != self._marker(coupon)}
            self._put(shop, coupon.template_id, coupon.shard, dataclasses.replace(current, inflight=inflight))

    def undo_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        self._call("undo_redemption")
        current = self._shard(shop, coupon.template_id, coupon.shard)
        if current.inflight.get(self._marker(coupon)) != attempt:
            return False
        inflight = {k: v for k, v in current.inflight.items() if k != self._marker(coupon)}
        self._put(
            shop,
            coupon.template_id,
            coupon.shard,
            dataclasses.replace(
                current,
                redeemed=current.redeemed - 1,
                discount_total=current.discount_total - (coupon.discount_amount or 0),
                gmv_total=current.gmv_total - (coupon.order_paid_amount or 0),
                inflight=inflight,
            ),
        )
        return True

    def count_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        current = self._shard(shop, coupon.template_id, coupon.shard)
        key = f"return:{coupon.coupon_id}:{order_id}"
        if key in current.inflight:
            return
        self._put(
            shop,
            coupon.template_id,
            coupon.shard,
            dataclasses.replace(
                current,
                returned=current.returned + 1,
                returned_discount=current.returned_discount + (coupon.discount_amount or 0),
                returned_gmv=current.returned_gmv + (coupon.order_paid_amount or 0),
                inflight={**current.inflight, key: True},
            ),
        )

    def clear_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        current = self._shard(shop, coupon.template_id, coupon.shard)
        key = f"return:{coupon.coupon_id}:{order_id}"
        inflight = {k: v for k, v in current.inflight.items() if k != key}
        self._put(shop, coupon.template_id, coupon.shard, dataclasses.replace(current, inflight=inflight))


class FakeLimits(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[Key, int] = {}
        self.holders: dict[Key, set[str]] = {}

    def reserve(self, shop: str, template_id: str, customer_id: str, limit: int, holder: str | None) -> Any:
        self._call("reserve")
        key = (shop, template_id, customer_id)
        n, holders = self.counts.get(key, 0), self.holders.setdefault(key, set())
        if n < limit and (holder is None or holder not in holders):
            self.counts[key] = n + 1
            if holder is not None:
                holders.add(holder)
            return "reserved"
        return "held" if holder is not None and holder in holders else "limit_reached"

    def release(self, shop: str, template_id: str, customer_id: str, holder: str | None) -> None:
        self._call("release")
        key = (shop, template_id, customer_id)
        holders = self.holders.setdefault(key, set())
        if holder is None and self.counts.get(key, 0) > 0:
            self.counts[key] -= 1
        elif holder is not None and holder in holders:
            holders.discard(holder)
            self.counts[key] -= 1


def _as_seen(current: Coupon, seen: Coupon) -> bool:
    return (current.status, current.order_id, current.locked_at) == (
        seen.status,
        seen.order_id,
        seen.locked_at,
    )


class FakeCoupons(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Coupon] = {}

    def create(self, shop: str, coupon: Coupon) -> bool:
        self._call("create")
        key = (shop, coupon.customer_id, coupon.coupon_id)
        if key in self.items:
            return False
        self.items[key] = coupon
        return True

    def create_many(self, shop: str, coupons: Sequence[Coupon]) -> None:
        self._call("create_many")
        for c in coupons:
            self.items[(shop, c.customer_id, c.coupon_id)] = c

    def get(self, shop: str, customer_id: str, coupon_id: str) -> Coupon | None:
        self._call("get")
        return self.items.get((shop, customer_id, coupon_id))

    def existing(self, shop: str, pairs: Sequence[tuple[str, str]]) -> set[str]:
        self._call("existing")
        return {k for c, k in pairs if (shop, c, k) in self.items}

    def wallet(self, shop: str, customer_id: str) -> list[Coupon]:
        self._call("wallet")
        return [c for k, c in sorted(self.items.items()) if k[:2] == (shop, customer_id)]

    def counts(self, shop: str, template_id: str, shards: int, now_iso: str) -> tuple[int, int]:
        """What the two indexes hold: locks ending after now; coupons that could still be used
        (or were marked expired) whose expiry has passed."""
        self._call("counts")
        mine = [c for k, c in self.items.items() if k[0] == shop and c.template_id == template_id]
        locked = sum(
            1 for c in mine if c.status == "locked" and c.lock_expires_at and c.lock_expires_at > now_iso
        )
        unused = ("available", "locked", "gifting", "expired")
        expired = sum(1 for c in mine if c.status in unused and c.expires_at and c.expires_at <= now_iso)
        return locked, expired

    def page(self, shop: str, customer_id: str, page: Any) -> tuple[list[Coupon], str | None]:
        self._call("page")
        mine = sorted((k[2], c) for k, c in self.items.items() if k[:2] == (shop, customer_id))
        start = int(page.cursor or 0)
        chosen = [c for _, c in mine[start : start + page.limit]]
        following = start + len(chosen)
        return chosen, str(following) if following < len(mine) else None

    def _update(
        self, shop: str, customer_id: str, coupon_id: str, test: Callable[[Coupon], bool], **changes: Any
    ) -> tuple[bool, Coupon | None]:
        key = (shop, customer_id, coupon_id)
        current = self.items.get(key)
        if current is None or not test(current):
            return False, current
        self.items[key] = dataclasses.replace(current, **changes)
        return True, self.items[key]

    def lock(
        self, shop: str, seen: Coupon, order_id: str, now_iso: str, until_iso: str, hold: int | None = None
    ) -> tuple[bool, Coupon | None]:
        self._call("lock")
        return self._update(
            shop,
            seen.customer_id,
            seen.coupon_id,
            lambda c: _as_seen(c, seen) and (c.expires_at is None or c.expires_at > now_iso),
            status="locked",
            order_id=order_id,
            locked_at=now_iso,
            lock_expires_at=until_iso,
            budget_hold=hold if hold is not None else seen.budget_hold,
        )

    def release(self, shop: str, customer_id: str, coupon_id: str, order_id: str, status: str) -> bool:
        self._call("release")
        return self._update(
            shop,
            customer_id,
            coupon_id,
            lambda c: c.status == "locked" and c.order_id == order_id,
            status=status,
            order_id=None,
            locked_at=None,
            lock_expires_at=None,
            budget_hold=None,
        )[0]

    def redeem(
        self,
        shop: str,
        coupon: Coupon,
        order_id: str,
        now_iso: str,
        paid_amount: int = 0,
        discount: int = 0,
        hold: int | None = None,
    ) -> bool:
        self._call("redeem")
        return self._update(
            shop,
            coupon.customer_id,
            coupon.coupon_id,
            lambda c: (
                c.status == "available"
                or (c.status == "locked" and c.order_id == order_id)
                or (coupon.status == "locked" and coupon.order_id != order_id and _as_seen(c, coupon))
            ),
            status="redeemed",
            order_id=order_id,
            redeemed_at=now_iso,
            count_pending=True,
            order_paid_amount=paid_amount,
            discount_amount=discount,
            budget_hold=hold if hold is not None else coupon.budget_hold,
            locked_at=None,
            lock_expires_at=None,
            expires_at_epoch=None,
        )[0]

    def record_refund(
        self, shop: str, coupon: Coupon, order_id: str, refund_id: str, amount: int
    ) -> tuple[bool, Coupon | None]:
        key = (shop, coupon.customer_id, coupon.coupon_id)
        current = self.items.get(key)
        name = f"{order_id}:{refund_id}"
        if (
            current is None
            or current.status != "redeemed"
            or current.order_id != order_id
            or name in current.refunds
        ):
            return False, current
        self.items[key] = dataclasses.replace(current, refunds={**current.refunds, name: amount})
        return True, self.items[key]

    def give_back(self, shop: str, coupon: Coupon, order_id: str, expires_epoch: int | None) -> bool:
        return self._update(
            shop,
            coupon.customer_id,
            coupon.coupon_id,
            lambda c: c.status == "redeemed" and c.order_id == order_id and not c.count_pending,
            status="available",
            return_pending=order_id,
            returned_from=(*coupon.returned_from, order_id),
            order_id=None,
            redeemed_at=None,
            counted_by=None,
            expires_at_epoch=expires_epoch,
        )[0]

    def settle_return(self, shop: str, coupon: Coupon, order_id: str) -> bool:
        return self._update(
            shop,
            coupon.customer_id,
            coupon.coupon_id,
            lambda c: c.return_pending == order_id,
            return_pending=None,
            order_paid_amount=None,
            discount_amount=None,
        )[0]

    def start_gift(
        self, shop: str, seen: Coupon, gift: dict[str, Any], until_iso: str, now_iso: str
    ) -> tuple[bool, Coupon | None]:
        return self._update(
            shop,
            seen.customer_id,
            seen.coupon_id,
            lambda c: _as_seen(c, seen) and (c.expires_at is None or c.expires_at > now_iso),
            status="gifting",
            gift=gift,
            gift_expires_at=until_iso,
            order_id=None,
            locked_at=None,
            lock_expires_at=None,
        )

    def end_gift(
        self, shop: str, customer_id: str, coupon_id: str, gift_id: str, status: str, gift: dict[str, Any]
    ) -> bool:
        current = self.items.get((shop, customer_id, coupon_id))
        if (
            current is not None
            and current.status == status
            and (current.gift or {}).get("gift_id") == gift_id
        ):
            return True
        return self._update(
            shop,
            customer_id,
            coupon_id,
            lambda c: c.status == "gifting" and (c.gift or {}).get("gift_id") == gift_id,
            status=status,
            gift=gift,
            gift_expires_at=None,
        )[0]

    def settle(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        self._call("settle")
        return self._update(
            shop,
            coupon.customer_id,
            coupon.coupon_id,
            lambda c: c.count_pending,
            counted_by=attempt,
            count_pending=False,
        )[0]

    def record_conflict(
        self, shop: str, coupon: Coupon, entry: dict[str, Any], max_conflicts: int, expire: bool
    ) -> Any:
        self._call("record_conflict")
        key = (shop, coupon.customer_id, coupon.coupon_id)
        current = self.items.get(key)
        if current is None:
            return "changed"
        if entry["event_id"] in current.conflict_events:
            return "duplicate"
        if len(current.conflicts) >= max_conflicts:
            return "full"
        if current.status != coupon.status or current.order_id != coupon.order_id:
            return "changed"
        changes: dict[str, Any] = {
            "conflicts": (*current.conflicts, entry),
            "conflict_events": current.conflict_events | {entry["event_id"]},
        }
        if expire:
            changes.update(status="expired", order_id=None, locked_at=None)
        self.items[key] = dataclasses.replace(current, **changes)
        return "recorded"

    def revoke(
        self, shop: str, customer_id: str, coupon_id: str, now_iso: str, reason: str
    ) -> tuple[bool, Coupon | None]:
        self._call("revoke")
        return self._update(
            shop,
            customer_id,
            coupon_id,
            lambda c: (
                c.status in ("available", "expired")
                or (c.status == "locked" and c.lock_expires_at is not None and c.lock_expires_at <= now_iso)
                or (c.status == "gifting" and c.gift_expires_at is not None and c.gift_expires_at <= now_iso)
            ),
            status="revoked",
            revoked_at=now_iso,
            revoke_reason=reason,
            order_id=None,
            locked_at=None,
            lock_expires_at=None,
            gift_expires_at=None,
        )


class FakeShopSettings(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, ShopSettings] = {}

    def get(self, shop: str, *, fresh: bool = False) -> ShopSettings:
        self._call("get")
        return self.items.get(shop, ShopSettings())

    def put(self, shop: str, settings: ShopSettings) -> None:
        self._call("put")
        self.items[shop] = settings


class FakePublisher(_Counted):
    """Keeps what the service publishes, by topic."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic: str, message: dict[str, Any]) -> None:
        self._call(topic)
        self.published.append((topic, message))


def fake_stores() -> Stores:
    from .fakes_jobs import FakeGrants, FakeInvalidations, FakeJobs
    from .fakes_sharing import FakeBudgets, FakeCodes, FakeGifts, FakeShareLinks

    stock = FakeStock()
    coupons = FakeCoupons()
    return Stores(
        FakeTemplates(stock),
        stock,
        FakeLimits(),
        coupons,
        FakeJobs(),
        FakeGrants(),
        FakeShareLinks(),
        FakeCodes(),
        FakeGifts(),
        FakeBudgets(),
        FakeInvalidations(coupons),
        FakeShopSettings(),
        FakePublisher(),
    )


def storage_calls(stores: Stores) -> Counter[str]:
    """Every call made so far, as ``repository.method`` -> count."""
    total: Counter[str] = Counter()
    for field in dataclasses.fields(stores):
        repo = getattr(stores, field.name)
        total.update({f"{field.name}.{name}": n for name, n in repo.calls.items()})
    return total
