"""What the use cases need from storage: one ``Protocol`` per repository. The DynamoDB
repositories (``store.templates``, ``store.stock``...) implement them; the unit tests use
in-memory fakes that honour the same conditions (``tests/unit/coupons/fakes.py``).

Every write here is safe to retry: a write whose answer was lost and that is sent again
recognises its own earlier effect (an issue key, an operation's block, a fresh id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.store.records import (
    Budget,
    Change,
    Code,
    CodeBatch,
    Coupon,
    Gift,
    Grant,
    Invalidation,
    Job,
    LinkTally,
    Plan,
    Refused,
    Shard,
    ShareLink,
    ShopSettings,
    Template,
)

Reserved = Literal["reserved", "held", "limit_reached"]
Conflicted = Literal["recorded", "duplicate", "full", "changed"]


class Templates(Protocol):
    def create(
        self,
        shop: str,
        template: Template,
        caps: Sequence[int],
        lucky: Sequence[Sequence[int]],
        created: Change,
    ) -> None:
        """Shards, lucky amounts and the first history entry first, the template last (a
        template that exists is complete)."""

    def get(self, shop: str, template_id: str, *, fresh: bool = False) -> Template | None:
        """The template (a process may keep what it read for a few seconds; ``fresh``: read it)."""

    def change(
        self,
        shop: str,
        seen: Template,
        sets: dict[str, Any],
        change: Change,
        pending: dict[str, list[int]],
        guard: str | None = None,
    ) -> bool:
        """Apply ``sets`` and record ``change`` if the template is still at ``seen.version``
        (and, with ``guard``, only if no change of that guard was applied: ``returns``)."""

    def finish_add(self, shop: str, template_id: str, edit_id: str) -> None:
        """Forget an added stock that is on every shard now."""

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
        """A page of the shop's templates, newest first: with that status at ``now_iso``, of
        that kind, with ``name`` in their name (case-insensitive); ``None``: any."""

    def history(self, shop: str, template_id: str, page: PageParams) -> tuple[list[Change], str | None]:
        """A page of the template's changes, oldest first."""

    def lucky_amounts(self, shop: str, template_id: str, chunks: Sequence[int]) -> dict[int, list[int]]:
        """Lucky amounts by chunk number (immutable)."""


class Stock(Protocol):
    def shards(self, shop: str, template_id: str, count: int) -> list[Shard]:
        """Every shard of a template, in shard order (one consistent read)."""

    def shards_of(self, shop: str, templates: Sequence[tuple[str, int]]) -> dict[str, list[Shard]]:
        """Every shard of each (template, shard count), by template (batched reads)."""

    def take_block(
        self, shop: str, template_id: str, shard: int, cap: int, want: int, op: str
    ) -> tuple[int, int] | Refused:
        """``want`` units for operation ``op``, exactly once: ``(offset, count)`` (the block
        ``op`` took, now or on an earlier attempt), or ``Refused``: the units left and the cap
        as stored (``cap`` is the caller's belief; one unit goes by the stored cap), or the
        halt that stops the shard."""

    def halt(self, shop: str, template_id: str, shard: int, status: str | None, version: int) -> None:
        """Mark the shard halted (``paused``, ``ended``; ``None``: not) as of ``version``."""

    def add_cap(self, shop: str, template_id: str, shard: int, units: int, edit_id: str) -> None:
        """Add ``units`` to the shard's cap, once per ``edit_id``."""

    def finish_block(self, shop: str, template_id: str, shard: int, op: str) -> None:
        """Forget ``op``'s block (its units are coupons now)."""

    def redeem_marker(self, shop: str, coupon: Coupon) -> str | None:
        """The attempt whose count of this coupon's redemption is on its shard, if any."""

    def count_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        """Count the redemption under ``attempt``; False when a marker is there."""

    def clear_redemption(self, shop: str, coupon: Coupon, attempt: str) -> None:
        """Remove the settled count's marker (nothing if it is gone)."""

    def undo_redemption(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        """Take back a surplus count and its marker, once."""

    def count_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        """Count a redemption given back by a full refund, once (a marker on the shard)."""

    def clear_return(self, shop: str, coupon: Coupon, order_id: str) -> None:
        """Remove the counted return's marker."""


class Limits(Protocol):
    def reserve(
        self, shop: str, template_id: str, customer_id: str, limit: int, holder: str | None
    ) -> Reserved:
        """Count one coupon against the customer's limit (``held``: ``holder`` has it already)."""

    def release(self, shop: str, template_id: str, customer_id: str, holder: str | None) -> None:
        """Give back ``holder``'s count (nothing when it holds none)."""


class Coupons(Protocol):
    def create(self, shop: str, coupon: Coupon) -> bool:
        """Write a coupon unless it exists (False then: with a fresh id, an earlier attempt)."""

    def create_many(self, shop: str, coupons: Sequence[Coupon]) -> None:
        """Write coupons unconditionally (ids derived from their job: a rewrite is the same)."""

    def get(self, shop: str, customer_id: str, coupon_id: str) -> Coupon | None: ...

    def existing(self, shop: str, pairs: Sequence[tuple[str, str]]) -> set[str]:
        """Which (customer, coupon) pairs exist, as coupon ids."""

    def page(self, shop: str, customer_id: str, page: PageParams) -> tuple[list[Coupon], str | None]:
        """One page of the customer's wallet (one Query), with the next cursor."""

    def wallet(self, shop: str, customer_id: str) -> list[Coupon]:
        """Every coupon of the customer, oldest first."""

    def counts(self, shop: str, template_id: str, shards: int, now_iso: str) -> tuple[int, int]:
        """(running locks, unused coupons expired by ``now_iso``) of a template's coupons."""

    def lock(
        self, shop: str, seen: Coupon, order_id: str, now_iso: str, until_iso: str, hold: int | None = None
    ) -> tuple[bool, Coupon | None]:
        """The coupon, still as ``seen`` and not expired -> locked to ``order_id`` until
        ``until_iso`` (holding ``hold`` of its template's budget): (True, new) or (False, as it is)."""

    def release(self, shop: str, customer_id: str, coupon_id: str, order_id: str, status: str) -> bool:
        """locked to ``order_id`` -> ``status``; False if it was not."""

    def redeem(
        self,
        shop: str,
        coupon: Coupon,
        order_id: str,
        now_iso: str,
        paid_amount: int,
        discount: int,
        hold: int | None = None,
    ) -> bool:
        """available, locked to ``order_id``, or still exactly as ``coupon`` (a lapsed lock of
        another order) -> redeemed by ``order_id``, its count pending."""

    def settle(self, shop: str, coupon: Coupon, attempt: str) -> bool:
        """The coupon keeps ``attempt``'s count; False when it was settled already."""

    def start_gift(
        self, shop: str, seen: Coupon, gift: dict[str, Any], until_iso: str, now_iso: str
    ) -> tuple[bool, Coupon | None]:
        """The coupon, still as ``seen`` and not expired -> ``gifting`` until ``until_iso``."""

    def record_refund(
        self, shop: str, coupon: Coupon, order_id: str, refund_id: str, amount: int
    ) -> tuple[bool, Coupon | None]:
        """Note a refund of the redeeming order once per refund id: (True, after) or (False, as is)."""

    def give_back(self, shop: str, coupon: Coupon, order_id: str, expires_epoch: int | None) -> bool:
        """redeemed by ``order_id`` -> available, its return pending a count."""

    def settle_return(self, shop: str, coupon: Coupon, order_id: str) -> bool:
        """Forget a counted return; False when it was forgotten already."""

    def end_gift(
        self, shop: str, customer_id: str, coupon_id: str, gift_id: str, status: str, gift: dict[str, Any]
    ) -> bool:
        """``gifting`` in ``gift_id`` -> ``status``; True also when it is there already."""

    def record_conflict(
        self, shop: str, coupon: Coupon, entry: dict[str, Any], max_conflicts: int, expire: bool
    ) -> Conflicted:
        """Append ``entry`` once per event id while the coupon is as it was read."""

    def revoke(
        self, shop: str, customer_id: str, coupon_id: str, now_iso: str, reason: str
    ) -> tuple[bool, Coupon | None]:
        """available or expired -> revoked: (True, new) or (False, as it was)."""


class Jobs(Protocol):
    def create(self, shop: str, job: Job) -> None: ...

    def get(self, shop: str, job_id: str) -> Job | None: ...

    def mark_started(self, shop: str, job_id: str) -> None: ...

    def complete_chunk(self, shop: str, job: Job, chunk: int, size: int, outcome: dict[str, Any]) -> bool:
        """Add a chunk's outcome once (replacing a dead-lettered record of it); False if added."""

    def mark_dead(self, shop: str, job: Job, chunk: int, customers: Sequence[str]) -> bool:
        """Record a chunk going to the DLQ as done, its customers failed; False if done already."""

    def get_plan(self, shop: str, job_id: str, chunk: int) -> Plan | None: ...

    def put_plan(self, shop: str, job_id: str, chunk: int, plan: Plan) -> bool:
        """Fix a chunk's outcome; False if one was fixed first."""

    def note_members(self, shop: str, job_id: str, total: int, chunk_total: int | None) -> None:
        """A segment job learns its size (once) and, from its last chunk, its chunk count."""

    def fail_export(self, shop: str, job_id: str, reason: str) -> None:
        """A segment job whose members cannot be had is done with ``reason``, once."""


class Grants(Protocol):
    def start(self, shop: str, grant: Grant) -> Grant:
        """The grant's record: created ``pending`` the first time, as it is on a redelivery."""

    def finish(self, shop: str, grant_id: str, status: str, reason: str | None) -> None: ...

    def get(self, shop: str, grant_id: str) -> Grant | None: ...


class ShareLinks(Protocol):
    def create(self, shop: str, link: ShareLink) -> None: ...

    def get(self, shop: str, link_id: str) -> ShareLink | None: ...

    def page(self, shop: str, template_id: str, page: PageParams) -> tuple[list[ShareLink], str | None]:
        """A page of the template's share links, oldest first."""

    def record_claim(self, shop: str, link_id: str, coupon_id: str, customer_id: str, at: str) -> None:
        """A coupon claimed through the link (once per coupon)."""

    def record_redemption(
        self, shop: str, link_id: str, coupon_id: str, order_id: str, gmv: int, discount: int, at: str
    ) -> None:
        """The redemption of a coupon claimed through the link (once per coupon)."""

    def tally(self, shop: str, link_id: str) -> LinkTally:
        """What the link brought (one Query)."""


class Codes(Protocol):
    def create_batch(self, shop: str, batch: CodeBatch) -> None: ...

    def get_batch(self, shop: str, batch_id: str) -> CodeBatch | None: ...

    def mark_started(self, shop: str, batch_id: str) -> None: ...

    def complete_chunk(
        self, shop: str, batch_id: str, chunk: int, written: int, skipped: dict[str, int], size: int = 0
    ) -> bool:
        """Add a chunk's counts once (replacing a dead-lettered record of its ``size`` codes);
        False when they were added already."""

    def mark_dead(self, shop: str, batch_id: str, chunk: int, size: int) -> bool:
        """Record a chunk on its last receive as done, its codes dead-lettered."""

    def put(self, shop: str, codes: Sequence[Code], expires: int | None) -> None:
        """Write links or exchange codes (unconditionally: see the module)."""

    def create_exchange(self, shop: str, codes: Sequence[Code], expires: int | None) -> list[Code]:
        """Write exchange codes the shop does not have: those that are the batch's now."""

    def existing_exchange(self, shop: str, codes: Sequence[str]) -> dict[str, Code]:
        """The exchange codes of the shop among ``codes`` that exist."""

    def get_link(self, shop: str, batch_id: str, index: int) -> Code | None: ...

    def get_exchange(self, shop: str, code: str) -> Code | None: ...

    def page(self, shop: str, batch: CodeBatch, page: PageParams) -> tuple[list[Code], str | None]:
        """A page of the batch's links or codes, in index order."""

    def claim(
        self, shop: str, code: Code, customer_id: str, coupon_id: str, at: str
    ) -> tuple[bool, Code | None]:
        """Give the code to ``customer_id`` unless another has it: (True, new) or (False, as it is)."""

    def count_attempt(self, shop: str, customer_id: str, window: int, expires: int) -> int:
        """Count one attempt of the customer in the window, first: the count with it."""

    def forgive_attempt(self, shop: str, customer_id: str, window: int) -> None:
        """Take back the attempt of a right code."""


class Gifts(Protocol):
    def create(self, shop: str, gift: Gift) -> None: ...

    def get(self, shop: str, gift_id: str) -> Gift | None: ...

    def accept(self, shop: str, gift_id: str, receiver: str, now_iso: str) -> tuple[bool, Gift | None]:
        """open and not expired -> accepted by ``receiver`` (True also for their retry)."""

    def cancel(self, shop: str, gift_id: str) -> tuple[bool, Gift | None]:
        """open -> cancelled (True also when it is cancelled already)."""


class Budgets(Protocol):
    def create(self, shop: str, template_id: str) -> None: ...

    def get(self, shop: str, template_id: str) -> Budget: ...

    def reserve(
        self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str, limit: int
    ) -> tuple[Literal["reserved", "held", "exhausted"], int]:
        """Hold ``amount`` for the coupon within ``limit`` (``held``: it holds some already),
        with the amount the coupon holds now."""

    def release(self, shop: str, template_id: str, coupon_id: str, amount: int) -> None: ...

    def reclaim(self, shop: str, template_id: str, coupon_id: str, amount: int, until_iso: str) -> None:
        """Release a hold whose lock lapsed, if it is still that hold."""

    def settle(self, shop: str, template_id: str, coupon_id: str, held: int, taken: int) -> bool:
        """A redemption keeps ``taken`` of its ``held``: the hold goes, once (False: it was gone)."""


class Invalidations(Protocol):
    def create(self, shop: str, job: Invalidation) -> None: ...

    def get(self, shop: str, invalidation_id: str) -> Invalidation | None: ...

    def scan_page(
        self, shop: str, template_id: str, segment: int, segments: int, start: dict[str, Any] | None
    ) -> tuple[list[Coupon], dict[str, Any] | None]:
        """The template's coupons in one page of one segment, and the next page's start."""

    def void(self, shop: str, coupon: Coupon, job_id: str, now_iso: str) -> bool:
        """The coupon, still as seen -> invalidated by ``job_id`` (True if it is)."""

    def void_on_release(self, shop: str, coupon: Coupon, job_id: str) -> bool:
        """Mark a running lock's coupon to be voided when released (True if it is)."""

    def complete_page(self, shop: str, invalidation_id: str, page: str, voided: int, on_release: int) -> bool:
        """Add a page's counts once."""

    def complete_segment(self, shop: str, invalidation_id: str, segment: int) -> Invalidation: ...

    def note_stock_returned(self, shop: str, invalidation_id: str, units: int) -> None: ...


class ShopSettingsStore(Protocol):
    def get(self, shop: str, *, fresh: bool = False) -> ShopSettings:
        """The shop's settings (defaults when it set none), possibly 2 s old unless ``fresh``."""

    def put(self, shop: str, settings: ShopSettings) -> None:
        """Write the settings whole."""
