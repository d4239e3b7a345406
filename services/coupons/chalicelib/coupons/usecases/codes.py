"""One-time claim links (Youzan ``voucher.list.link``) and exchange codes (兑换码): rules in
``domain.codes``, storage in ``store.codes``.

- **A batch** is a job: the request records it and queues its chunks (1,000 links or codes,
  250 imported codes each) on the bulk queue; each chunk takes one unit of stock per link or
  code (a block recorded under the chunk on its shard, ``claims.take_units``), then writes
  them, then adds its counts to
  the batch once. A redelivered chunk gets the same block and derives the same links and
  codes, so it writes the same items; exchange codes already there are not written again
  (one the shop already had, from another batch, is skipped as ``duplicate``). Links and
  codes are listed only once the whole batch is done, so no link can be claimed while its
  chunk may still be written again.
- **A claim** reads the template fresh (a paused or ended template refuses it: 409 ``paused``
  or ``not_active``; unused links and codes expire with it), counts the customer against
  ``per_customer_limit``, gives the code to the customer in one conditional write (409
  ``already_claimed`` for anyone else; the same customer again gets the same coupon), and
  writes the coupon of the unit the code holds.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any

from campaign_shared import clock, ids
from campaign_shared.errors import Conflict, InvalidRequest, NotFound, TooManyRequests
from campaign_shared.settings import public_url
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons import domain
from chalicelib.coupons.domain import codes as rules
from chalicelib.coupons.models import (
    BatchCodeOut,
    BatchCodePage,
    ClaimLinksIn,
    CodeBatchAccepted,
    CodeBatchOut,
    CodeChunk,
    CouponOut,
    ExchangeCodesIn,
    PublicClaimLink,
)
from chalicelib.coupons.store.records import Code, CodeBatch, Template
from chalicelib.coupons.usecases import Stores, claims, stores_or_default
from chalicelib.coupons.usecases.templates import template_or_404
from chalicelib.coupons.usecases.wallet import coupon_out

SOLD_OUT, DUPLICATE = "sold_out", "duplicate"
HALTED_AS = {"paused": "paused", "ended": "not_active"}  # a halt -> the reason its codes were skipped


def _log() -> Any:
    from campaign_shared import observability

    return observability.logger("coupons")


def link_url(shop: str, token: str) -> str:
    return public_url(f"/coupons/l/{shop}/{token}")


def _issuable(template: Template) -> None:
    """Stock can be set aside for new links or codes: 409 ``paused`` or ``ended`` otherwise."""
    status = domain.template_status(template, clock.now())
    if status == "ended":
        raise Conflict("this template has ended", code="ended")
    if status == "paused":
        raise Conflict("this template is paused", code="paused")


# ---- batches -------------------------------------------------------------------------------


def _start(
    s: Stores, shop: str, template: Template, kind: str, count: int, actor: str, imported: list[str] | None
) -> CodeBatchAccepted:
    from campaign_shared import messaging
    from campaign_shared.resources.coupons import BULK_QUEUE

    batch = CodeBatch(
        batch_id=ids.new_id("cb-"),
        template_id=template.template_id,
        kind=kind,
        source="imported" if imported is not None else "generated",
        requested=count,
        chunk_total=math.ceil(count / rules.chunk_size(imported is not None)),
        seed=os.urandom(32).hex(),
        created_at=clock.iso(clock.now()),
        created_by=actor,
    )
    s.codes.create_batch(shop, batch)
    messages = []
    for chunk in range(batch.chunk_total):
        first = chunk * rules.chunk_size(imported is not None)
        size = min(rules.chunk_size(imported is not None), count - first)
        message = CodeChunk(
            shop=shop,
            batch_id=batch.batch_id,
            chunk=chunk,
            first_index=first,
            count=size,
            codes=imported[first : first + size] if imported is not None else None,
        )
        messages.append(message.model_dump(mode="json", exclude_none=True))
    messaging.send_batch("coupons", messages, queue=BULK_QUEUE)
    return CodeBatchAccepted(batch_id=batch.batch_id, kind=kind, status="queued", requested=count)  # type: ignore[arg-type]


def create_links(
    shop: str, template_id: str, body: ClaimLinksIn, actor: str, stores: Stores | None = None
) -> CodeBatchAccepted:
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    _issuable(template)
    return _start(s, shop, template, "link", body.count, actor, None)


def create_exchange_codes(
    shop: str, template_id: str, body: ExchangeCodesIn, actor: str, stores: Stores | None = None
) -> CodeBatchAccepted:
    s = stores_or_default(stores)
    template = template_or_404(s, shop, template_id, fresh=True)
    _issuable(template)
    if body.codes is None:
        return _start(s, shop, template, "exchange", int(body.count or 0), actor, None)
    normalized = [rules.normalize(c) for c in body.codes]
    bad = [
        {"loc": ["body", "codes", n], "msg": "4..32 letters or digits"}
        for n, c in enumerate(normalized)
        if not rules.importable(c)
    ]
    if bad:
        raise InvalidRequest(f"{len(bad)} codes are not importable", details=bad[:20])
    distinct = list(dict.fromkeys(normalized))
    if len(distinct) != len(normalized):
        raise InvalidRequest(
            "codes must be unique (case, spaces and hyphens are ignored)",
            details=[{"loc": ["body", "codes"], "msg": f"{len(normalized) - len(distinct)} repeated"}],
        )
    return _start(s, shop, template, "exchange", len(distinct), actor, distinct)


def run_chunk(message: CodeChunk, stores: Stores | None = None) -> None:
    """Write one chunk of a batch; a redelivered chunk writes and counts nothing twice."""
    s = stores_or_default(stores)
    shop = message.shop
    batch = s.codes.get_batch(shop, message.batch_id)
    if batch is None:
        _log().warning("code chunk of an unknown batch dropped", extra={"batch_id": message.batch_id})
        return
    if str(message.chunk) in batch.done_chunks - batch.dead_chunks:  # a dead-lettered one may yet succeed
        return
    if not batch.started:
        s.codes.mark_started(shop, batch.batch_id)
    template = s.templates.get(shop, batch.template_id, fresh=True)
    indexes = list(range(message.first_index, message.first_index + message.count))
    skipped: dict[str, int] = {}
    written: list[Code] = []
    blocks: list[tuple[int, int, int]] = []
    halted = None if template is None else _halt_of(template)
    if template is None or halted:
        skipped[halted or "not_active"] = len(indexes)
    else:
        values = _values(batch, message, indexes)
        wanted, ours = indexes, set[int]()
        if values is not None:  # exchange codes: one the shop has from elsewhere is a duplicate
            there = s.codes.existing_exchange(shop, values)
            mine = {c: code for c, code in there.items() if code.batch_id == batch.batch_id}
            ours = {code.index for code in mine.values()}
            foreign = [i for i, v in zip(indexes, values, strict=True) if v in there and v not in mine]
            if foreign:
                skipped[DUPLICATE] = len(foreign)
            wanted = [i for i in indexes if i not in set(foreign)]
        op = f"codes:{batch.batch_id}:{message.chunk}"
        blocks, halted = claims.take_units(s, shop, template, len(wanted), op) if wanted else ([], None)
        units = [(shard, first + n) for shard, first, count in blocks for n in range(count)]
        left = len(wanted) - len(units)
        if left:
            reason = HALTED_AS.get(halted or "", SOLD_OUT)
            skipped[reason] = skipped.get(reason, 0) + left
        by_index: dict[int, str | None] = {i: values[n] if values else None for n, i in enumerate(indexes)}
        for index, (shard, slot) in zip(wanted, units, strict=False):
            written.append(_code(batch, template, index, shard, slot, by_index[index]))
        fresh_codes = [c for c in written if c.index not in ours]
        if values is None:
            s.codes.put(shop, fresh_codes, _expiry(template))
        else:  # a code another batch took meanwhile is a duplicate (its unit stays unissued)
            kept = {c.index for c in s.codes.create_exchange(shop, fresh_codes, _expiry(template))}
            lost = [c for c in fresh_codes if c.index not in kept]
            if lost:
                skipped[DUPLICATE] = skipped.get(DUPLICATE, 0) + len(lost)
                written = [c for c in written if c not in lost]
    s.codes.complete_chunk(shop, batch.batch_id, message.chunk, len(written), skipped, message.count)
    for shard in {b[0] for b in blocks}:
        s.stock.finish_block(shop, batch.template_id, shard, f"codes:{batch.batch_id}:{message.chunk}")


def mark_dead_lettered(message: CodeChunk, stores: Stores | None = None) -> bool:
    """Record a chunk on its last receive as done, its codes ``dead_lettered``, so the batch
    ends even if the chunk goes to the DLQ; if the chunk then succeeds (or is redriven), its
    real counts replace that, once."""
    s = stores_or_default(stores)
    return s.codes.mark_dead(message.shop, message.batch_id, message.chunk, message.count)


def _halt_of(template: Template) -> str | None:
    status = domain.template_status(template, clock.now())
    return HALTED_AS.get(status)


def _values(batch: CodeBatch, message: CodeChunk, indexes: list[int]) -> list[str] | None:
    """The chunk's exchange codes (generated from the seed, or imported); None for links."""
    if batch.kind == "link":
        return None
    if message.codes is not None:
        return list(message.codes)
    seed = bytes.fromhex(batch.seed)
    return [rules.exchange_code(seed, batch.batch_id, i) for i in indexes]


def _code(batch: CodeBatch, template: Template, index: int, shard: int, slot: int, value: str | None) -> Code:
    mac = rules.link_mac(bytes.fromhex(batch.seed), batch.batch_id, index) if value is None else None
    return Code(batch.batch_id, index, template.template_id, shard, slot, mac=mac, code=value)


def _expiry(template: Template) -> int | None:
    """Unused links and codes go with the template: cleaned up after its window and retention."""
    if template.valid_until is None:
        return None
    return clock.epoch(clock.parse(template.valid_until)) + domain.RETENTION_DAYS * 86400


def _batch_or_404(s: Stores, shop: str, batch_id: str) -> CodeBatch:
    batch = s.codes.get_batch(shop, batch_id)
    if batch is None:
        raise NotFound("no such batch")
    return batch


def batch_view(shop: str, batch_id: str, stores: Stores | None = None) -> CodeBatchOut:
    s = stores_or_default(stores)
    batch = _batch_or_404(s, shop, batch_id)
    status = rules.batch_status(batch.chunk_total, len(batch.done_chunks), batch.started)
    return CodeBatchOut.model_validate(
        {
            **batch.to_item(),
            "status": status,
            "skipped": sum(batch.skipped_by.values()),
            "skipped_by_reason": {c: n for c, n in batch.skipped_by.items() if n},
            "dead_lettered_chunks": sorted(int(c) for c in batch.dead_chunks),
        }
    )


def _ready(s: Stores, shop: str, batch_id: str) -> CodeBatch:
    batch = _batch_or_404(s, shop, batch_id)
    if len(batch.done_chunks) < batch.chunk_total:
        raise Conflict("the batch is still being written; list it once it is done", code="not_ready")
    return batch


def _code_out(shop: str, code: Code) -> BatchCodeOut:
    token = rules.link_token(code.batch_id, code.index, code.mac) if code.mac else None
    return BatchCodeOut(
        index=code.index,
        token=token,
        url=link_url(shop, token) if token else None,
        code=code.code,
        status="claimed" if code.customer_id else "unused",
        customer_id=code.customer_id,
        coupon_id=code.coupon_id,
        claimed_at=code.claimed_at,
    )


def page_codes(shop: str, batch_id: str, page: PageParams, stores: Stores | None = None) -> BatchCodePage:
    s = stores_or_default(stores)
    batch = _ready(s, shop, batch_id)
    found, cursor = s.codes.page(shop, batch, page)
    return BatchCodePage(items=[_code_out(shop, c) for c in found], next_cursor=cursor)


def export_csv(shop: str, batch_id: str, stores: Stores | None = None) -> str:
    """Every link or code of a done batch as CSV, to paste into chats or print."""
    s = stores_or_default(stores)
    batch = _ready(s, shop, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["index", "url" if batch.kind == "link" else "code", "status", "customer_id", "coupon_id"]
    )
    cursor: str | None = None
    while True:
        found, cursor = s.codes.page(shop, batch, PageParams(limit=200, cursor=cursor))
        for code in found:
            row = _code_out(shop, code)
            writer.writerow(
                [row.index, row.url or row.code, row.status, row.customer_id or "", row.coupon_id or ""]
            )
        if cursor is None:
            return out.getvalue()


# ---- claims --------------------------------------------------------------------------------


def _link(s: Stores, shop: str, token: str) -> Code:
    """The link a token names, if the token is genuine: 404 alike for unknown and forged."""
    parsed = rules.parse_link_token(token)
    code = s.codes.get_link(shop, parsed[0], parsed[1]) if parsed else None
    if parsed is None or code is None or code.mac is None or not rules.same_mac(parsed[2], code.mac):
        raise NotFound("no such link")
    return code


def claim_link(shop: str, token: str, customer_id: str, stores: Stores | None = None) -> CouponOut:
    s = stores_or_default(stores)
    return _claim(s, shop, _link(s, shop, token), customer_id, "link")


def redeem_code(shop: str, typed: str, customer_id: str, stores: Stores | None = None) -> CouponOut:
    """An exchange code for its coupon; wrong codes are counted (``domain.codes``)."""
    s = stores_or_default(stores)
    window, left = rules.attempt_window(clock.epoch(clock.now()))
    # Counted before the look-up, so parallel guesses cannot all slip under the limit; a
    # right code takes its attempt back.
    tries = s.codes.count_attempt(shop, customer_id, window, clock.epoch(clock.now()) + left + 60)
    if tries > rules.MAX_WRONG_ATTEMPTS:
        raise TooManyRequests("too many wrong codes; try again later", retry_after=left)
    value = rules.normalize(typed)
    code = s.codes.get_exchange(shop, value) if rules.importable(value) else None
    if code is None:
        raise NotFound("no such code; check it for a typo")
    s.codes.forgive_attempt(shop, customer_id, window)
    return _claim(s, shop, code, customer_id, "code")


def public_link(shop: str, token: str, stores: Stores | None = None) -> PublicClaimLink:
    s = stores_or_default(stores)
    code = _link(s, shop, token)
    template = template_or_404(s, shop, code.template_id)
    return PublicClaimLink.model_validate(
        {
            **template.to_item(),
            "shop": shop,
            "status": "claimed" if code.customer_id else "unused",
            "claim_path": f"/coupons/claim-links/{token}/claim",
        }
    )


def _claim(s: Stores, shop: str, code: Code, customer_id: str, source: str) -> CouponOut:
    template = template_or_404(s, shop, code.template_id, fresh=True)
    now = clock.now()
    coupon_id = f"cp-{code.batch_id}-{code.index}"
    if code.customer_id not in (None, customer_id):
        raise Conflict("this has been claimed already", code="already_claimed")
    if code.customer_id is None:
        status = domain.template_status(template, now)
        if status == "paused":
            raise Conflict("this coupon is paused; try again later", code="paused")
        if status != "active":
            raise Conflict("this coupon cannot be claimed now", code="not_active")
    holder = f"code:{code.batch_id}:{code.index}"
    if s.limits.reserve(shop, template.template_id, customer_id, template.per_customer_limit, holder) == (
        "limit_reached"
    ):
        raise Conflict(
            "you already hold as many of these coupons as allowed", code="per_customer_limit_reached"
        )
    won, _ = s.codes.claim(shop, code, customer_id, coupon_id, clock.iso(now))
    if not won:
        s.limits.release(shop, template.template_id, customer_id, holder)
        raise Conflict("this has been claimed already", code="already_claimed")
    coupon = claims.coupon_in_slot(
        s, shop, template, coupon_id, customer_id, now, code.shard, code.slot, source
    )
    if not s.coupons.create(shop, coupon):  # claimed before: the coupon is there
        coupon = s.coupons.get(shop, customer_id, coupon_id) or coupon
    return coupon_out(coupon, now)
