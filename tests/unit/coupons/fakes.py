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
    Code,
    CodeBatch,
    Coupon,
    Gift,
    Grant,
    Job,
    LinkTally,
    Plan,
    Refused,
    Shard,
    ShareLink,
    Template,
)
from chalicelib.coupons.usecases import Stores

Key = tuple[str, ...]


class Crash(RuntimeError):
    """The process died right after a write committed."""


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
        self, shop: str, seen: Template, sets: dict[str, Any], change: Change, pending: dict[str, list[int]]
    ) -> bool:
        self._call("change")
        key = (shop, seen.template_id)
        current = self.items.get(key)
        if current is None or current.version != seen.version:
            return False
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
            dataclasses.replace(current, redeemed=current.redeemed + 1, inflight=inflight),
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
            dataclasses.replace(current, redeemed=current.redeemed - 1, inflight=inflight),
        )
        return True


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
        self, shop: str, seen: Coupon, order_id: str, now_iso: str, until_iso: str
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
        )[0]

    def redeem(self, shop: str, coupon: Coupon, order_id: str, now_iso: str) -> bool:
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
            locked_at=None,
            lock_expires_at=None,
            expires_at_epoch=None,
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
            lambda c: c.status in ("available", "expired"),
            status="revoked",
            revoked_at=now_iso,
            revoke_reason=reason,
        )


def _add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {**counts, **{k: counts.get(k, 0) + int(v) for k, v in more.items()}}


class FakeJobs(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Job] = {}
        self.plans: dict[Key, Plan] = {}

    def create(self, shop: str, job: Job) -> None:
        self._call("create")
        if (shop, job.job_id) in self.items:
            raise RuntimeError("job exists")
        self.items[(shop, job.job_id)] = job

    def get(self, shop: str, job_id: str) -> Job | None:
        self._call("get")
        return self.items.get((shop, job_id))

    def mark_started(self, shop: str, job_id: str) -> None:
        self._call("mark_started")
        if (shop, job_id) in self.items:
            self.items[(shop, job_id)] = dataclasses.replace(self.items[(shop, job_id)], started=True)

    def _samples(self, current: Job, seen: Job, samples: dict[str, list[str]]) -> dict[str, list[str]]:
        merged = {k: list(v) for k, v in current.samples.items()}
        for code, ids in samples.items():
            room = 10 - len(seen.samples.get(code) or ())
            if room > 0 and ids:
                merged[code] = merged.get(code, []) + list(ids)[:room]
        return merged

    def complete_chunk(self, shop: str, job: Job, chunk: int, size: int, outcome: dict[str, Any]) -> bool:
        self._call("complete_chunk")
        current = self.items.get((shop, job.job_id))
        if current is None:
            return False
        skipped_by, failed_by = outcome.get("skipped_by") or {}, outcome.get("failed_by") or {}
        name = str(chunk)
        if name in current.done_chunks and name not in current.dead_chunks:
            return False
        dead = name in current.dead_chunks
        failed_by = _add(dict(failed_by), {"dead_lettered": -size}) if dead else dict(failed_by)
        self.items[(shop, job.job_id)] = dataclasses.replace(
            current,
            issued=current.issued + int(outcome.get("issued", 0)),
            skipped=current.skipped + sum(skipped_by.values()),
            failed=current.failed
            + sum(int(v) for v in (outcome.get("failed_by") or {}).values())
            - (size if dead else 0),
            skipped_by=_add(current.skipped_by, skipped_by),
            failed_by=_add(current.failed_by, failed_by),
            samples=self._samples(current, job, outcome.get("samples") or {}),
            done_chunks=current.done_chunks | {name},
            dead_chunks=current.dead_chunks - {name},
        )
        return True

    def mark_dead(self, shop: str, job: Job, chunk: int, customers: Sequence[str]) -> bool:
        self._call("mark_dead")
        current = self.items.get((shop, job.job_id))
        if current is None or str(chunk) in current.done_chunks:
            return False
        self.items[(shop, job.job_id)] = dataclasses.replace(
            current,
            failed=current.failed + len(customers),
            failed_by=_add(current.failed_by, {"dead_lettered": len(customers)}),
            samples=self._samples(current, job, {"dead_lettered": list(customers)}),
            done_chunks=current.done_chunks | {str(chunk)},
            dead_chunks=current.dead_chunks | {str(chunk)},
        )
        return True

    def get_plan(self, shop: str, job_id: str, chunk: int) -> Plan | None:
        self._call("get_plan")
        return self.plans.get((shop, job_id, str(chunk)))

    def put_plan(self, shop: str, job_id: str, chunk: int, plan: Plan) -> bool:
        self._call("put_plan")
        if (shop, job_id, str(chunk)) in self.plans:
            return False
        self.plans[(shop, job_id, str(chunk))] = plan
        return True


class FakeGrants(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.items: dict[Key, Grant] = {}

    def start(self, shop: str, grant: Grant) -> Grant:
        self._call("start")
        return self.items.setdefault((shop, grant.grant_id), dataclasses.replace(grant, status="pending"))

    def finish(self, shop: str, grant_id: str, status: str, reason: str | None) -> None:
        self._call("finish")
        self.items[(shop, grant_id)] = dataclasses.replace(
            self.items[(shop, grant_id)], status=status, reason=reason
        )

    def get(self, shop: str, grant_id: str) -> Grant | None:
        self._call("get")
        return self.items.get((shop, grant_id))


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

    def put(self, shop: str, codes: Sequence[Code], expires: int | None) -> None:
        self._call("put")
        for code in codes:
            self.items[self._key(shop, code)] = code

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

    def wrong_attempts(self, shop: str, customer_id: str, window: int) -> int:
        return self.attempts.get((shop, customer_id, str(window)), 0)

    def add_wrong_attempt(self, shop: str, customer_id: str, window: int, expires: int) -> None:
        key = (shop, customer_id, str(window))
        self.attempts[key] = self.attempts.get(key, 0) + 1


def fake_stores() -> Stores:
    stock = FakeStock()
    return Stores(
        FakeTemplates(stock),
        stock,
        FakeLimits(),
        FakeCoupons(),
        FakeJobs(),
        FakeGrants(),
        FakeShareLinks(),
        FakeCodes(),
        FakeGifts(),
    )


def storage_calls(stores: Stores) -> Counter[str]:
    """Every call made so far, as ``repository.method`` -> count."""
    total: Counter[str] = Counter()
    for field in dataclasses.fields(stores):
        repo = getattr(stores, field.name)
        total.update({f"{field.name}.{name}": n for name, n in repo.calls.items()})
    return total


class Faults:
    """Faults injected into a fake's methods (undone by ``undo``)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str]] = []

    def _wrap(self, repo: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        real = getattr(repo, name)
        setattr(repo, name, make(real))
        self._undo.append((repo, name))

    def crash_after(self, repo: Any, name: str, times: int = 1) -> dict[str, int]:
        """The first ``times`` calls commit, then the process dies (``Crash``)."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def crashing(*args: Any, **kwargs: Any) -> Any:
                result = real(*args, **kwargs)
                seen["n"] += 1
                if seen["n"] <= times:
                    raise Crash(f"crashed right after {name}")
                return result

            return crashing

        self._wrap(repo, name, make)
        return seen

    def fail_before(
        self, repo: Any, name: str, error: Callable[[], Exception], times: int = 1
    ) -> dict[str, int]:
        """The first ``times`` calls fail before writing anything (``error()`` is raised)."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def failing(*args: Any, **kwargs: Any) -> Any:
                seen["n"] += 1
                if seen["n"] <= times:
                    raise error()
                return real(*args, **kwargs)

            return failing

        self._wrap(repo, name, make)
        return seen

    def lost_answer(self, repo: Any, name: str, times: int = 1) -> dict[str, int]:
        """The first ``times`` calls commit, their answer is lost, and the client sends the
        same request again: the caller sees the second answer."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def twice(*args: Any, **kwargs: Any) -> Any:
                seen["n"] += 1
                if seen["n"] <= times:
                    real(*args, **kwargs)
                return real(*args, **kwargs)

            return twice

        self._wrap(repo, name, make)
        return seen

    def undo(self) -> None:
        for repo, name in reversed(self._undo):
            delattr(repo, name)
        self._undo.clear()
