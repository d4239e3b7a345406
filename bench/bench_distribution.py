"""Distribution benchmarks on the local stack.

- **Consumer throughput.** ``ORDERS`` ``order.paid`` events (two lines each, through a
  tier-2 link, so four commission entries per order) are sent to the distribution queue in
  batches of 10 and consumed by the stack's poller (batches of 10). Reported: orders/s and
  order lines/s, DynamoDB request units per order line (computed from what is sent, by the
  pricing rules: ``campaign_shared.capacity``), and both as a ratio to the raw writes the
  ledger itself needs (one PutItem per entry and one UpdateItem per distributor balance per
  order) timed with a raw client on the same moto server.
- **Consumer handler.** The same ``order.paid`` messages handed to the consumer's handler in
  this process (no queue), alternating rounds with the raw ledger writes: the goal's measure
  (the handler ≤ 2× the raw writes); the rows above include the local queue's transport.
- **Consumer with customer binding.** The same with ``binding_days`` set: half the orders bind
  their customer through the link, the other half are the same customers' repeat orders
  without a code (earned through the binding), sent after the first half is consumed.
- **Statement read.** p50 of ``GET /distribution/me/statements/2026-11`` for the same two
  distributors (every seeded entry is in that month; the seed also sets the month's totals
  that posting keeps with the balance).
- **Balance read.** p50 of ``GET /distribution/me/balance`` for a distributor with 10,000
  ledger entries versus one with 10 (target ratio under 1.5: balances are maintained, never
  summed on read). The big ledger is seeded with raw batch writes (consuming 5,000 orders
  would take minutes on moto); the balance item is set to the seeded sums so the
  distributor reconciles.
"""

from __future__ import annotations

import json
import time
import uuid
from statistics import median
from typing import Any

ORDERS = 50
LINES = 2
READS = 200
STATEMENT_READS = 100
HANDLER_ROUNDS, HANDLER_ORDERS = 5, 20
BIG, SMALL = 10_000, 10


def _check(response: Any, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


def _setup(ctx: Any, session: Any, shop: str, binding: bool = False) -> str:
    url = ctx.url
    rules: dict[str, Any] = {
        "default_rate_bps": 1000,
        "parent_rate_bps": 500,
        "settle_after_days": 7,
        "auto_approve": True,
    }
    if binding:
        rules["binding_days"] = 30
    _check(
        session.put(f"{url}/distribution/rules", json=rules, headers=ctx.bearer("merchant", shop, "m")), 200
    )
    _check(
        session.post(f"{url}/distribution/distributors", json={}, headers=ctx.bearer("customer", shop, "p")),
        201,
    )
    child = {"invited_by": "p"}
    _check(
        session.post(
            f"{url}/distribution/distributors", json=child, headers=ctx.bearer("customer", shop, "c")
        ),
        201,
    )
    link = session.post(f"{url}/distribution/links", json={}, headers=ctx.bearer("customer", shop, "c"))
    return _check(link, 201)["code"]


def _paid(shop: str, code: str | None, n: int, customer: int | None = None) -> dict[str, Any]:
    body = {
        "event_id": f"bench-{n}",
        "type": "order.paid",
        "order_id": f"o-{n}",
        "customer_id": f"buyer-{n if customer is None else customer}",
        "occurred_at": "2026-11-11T00:00:05Z",
        "currency": "CNY",
        "lines": [
            {
                "line_id": f"l-{i}",
                "product_id": f"p-{i}",
                "quantity": 1,
                "unit_amount": 1000 + i,
                "paid_amount": 1000 + i,
            }
            for i in range(LINES)
        ],
        "shop": shop,
    }
    if code:
        body["distributor_code"] = code
    return body


def _poller(ctx: Any) -> Any:
    return next(p for p in ctx.stack.pollers if p.name == "distribution")


def _send_and_wait(ctx: Any, messages: list[dict[str, Any]]) -> None:
    poller = _poller(ctx)
    queue = ctx.stack.resources["queues"]["distribution"]["url"]
    before_messages = poller.stats["messages"]
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(messages[start : start + 10])
        ]
        ctx.sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    deadline = time.monotonic() + 120
    while poller.stats["messages"] - before_messages < len(messages) and time.monotonic() < deadline:
        time.sleep(0.02)


def _consumer_throughput(ctx: Any, session: Any, binding: bool = False) -> list[dict[str, Any]]:
    """Without binding: ``ORDERS`` orders of distinct customers through the link. With binding
    (``binding_days`` 30): ``ORDERS / 2`` customers each order once through the link (which
    binds them), then once more without a code (the binding earns): every order reads the
    binding; the first writes it (and its audit), each counts itself on it."""
    from campaign_shared import capacity

    shop = f"bench-{uuid.uuid4().hex[:8]}"
    code = _setup(ctx, session, shop, binding)
    if binding:
        phases = [
            [_paid(shop, code, n, customer=n) for n in range(ORDERS // 2)],
            [_paid(shop, None, ORDERS // 2 + n, customer=n) for n in range(ORDERS // 2)],
        ]
    else:
        phases = [[_paid(shop, code, n) for n in range(ORDERS)]]
    before = (capacity.TOTAL.read, capacity.TOTAL.write, capacity.TOTAL.calls)
    started = time.perf_counter()
    for messages in phases:  # with binding, repeat orders only after their customers are bound
        _send_and_wait(ctx, messages)
    elapsed = time.perf_counter() - started
    read = capacity.TOTAL.read - before[0]
    write = capacity.TOTAL.write - before[1]
    calls = capacity.TOTAL.calls - before[2]
    balance = _check(
        session.get(f"{ctx.url}/distribution/me/balance", headers=ctx.bearer("customer", shop, "c")), 200
    )
    expected = ORDERS * sum((1000 + i) // 10 for i in range(LINES))
    if balance["pending_amount"] != expected:
        raise RuntimeError(f"consumer credited {balance['pending_amount']}, expected {expected}")

    raw_elapsed, raw_write, raw_calls = _raw_ledger_writes(ctx)
    lines = ORDERS * LINES
    label = ", binding on (half repeat orders without a code)" if binding else ""
    rate = ORDERS / elapsed
    raw_rate = ORDERS / raw_elapsed
    return [
        {
            "benchmark": f"distribution consumer: order.paid, {LINES} lines, 2 tiers{label}",
            "metric": "orders/s",
            "value": rate,
            "baseline": raw_rate,
            "ratio": raw_rate / rate,
            "note": (
                f"{lines / elapsed:.1f} lines/s, through the local queue (send, poll, delete: the "
                f"transport adds to every order); baseline = the ledger's raw writes alone "
                f"({raw_calls // ORDERS} calls/order) on the same moto; ratio = time per order vs raw; "
                f"{calls / ORDERS:.1f} DynamoDB calls/order; n={ORDERS}"
            ),
        },
        {
            "benchmark": f"distribution consumer: request units per order line{label}",
            "metric": "WCU/line",
            "value": write / lines,
            "baseline": raw_write / lines,
            "ratio": write / raw_write,
            "note": (
                f"{read / lines:.2f} RCU/line; baseline = one PutItem per entry + one UpdateItem per "
                "balance; extra: the order record (and with binding on: the binding's put or count)"
            ),
        },
    ]


def _handler_vs_raw(ctx: Any, session: Any) -> list[dict[str, Any]]:
    """The consumer's own work, without the queue: ``HANDLER_ROUNDS`` alternating rounds of
    ``HANDLER_ORDERS`` orders handed to the distribution consumer's ``order.paid`` handler in
    this process (as the poller or Lambda hands it a message) and of the same number of
    orders' raw ledger writes; the median time per order of each."""
    from chalicelib.distribution import consumer

    shop = f"bench-{uuid.uuid4().hex[:8]}"
    code = _setup(ctx, session, shop)
    ours: list[float] = []
    raw: list[float] = []
    for r in range(HANDLER_ROUNDS):
        messages = [_paid(shop, code, r * HANDLER_ORDERS + n) for n in range(HANDLER_ORDERS)]
        started = time.perf_counter()
        for message in messages:
            consumer.on_paid(message)
        ours.append((time.perf_counter() - started) / HANDLER_ORDERS)
        raw.append(_raw_ledger_writes(ctx, HANDLER_ORDERS)[0] / HANDLER_ORDERS)
    balance = _check(
        session.get(f"{ctx.url}/distribution/me/balance", headers=ctx.bearer("customer", shop, "c")), 200
    )
    expected = HANDLER_ROUNDS * HANDLER_ORDERS * sum((1000 + i) // 10 for i in range(LINES))
    if balance["pending_amount"] != expected:
        raise RuntimeError(f"handler credited {balance['pending_amount']}, expected {expected}")
    mine, theirs = median(ours), median(raw)
    return [
        {
            "benchmark": f"distribution consumer handler: order.paid, {LINES} lines, 2 tiers (no queue)",
            "metric": "ms/order",
            "value": mine * 1000,
            "baseline": theirs * 1000,
            "ratio": mine / theirs,
            "note": (
                f"goal ratio <= 2; the order.paid handler in process vs the ledger's raw writes "
                f"(6 calls/order) on the same moto; median of {HANDLER_ROUNDS} alternating rounds of "
                f"{HANDLER_ORDERS} orders ({', '.join(f'{x * 1000:.1f}' for x in ours)} vs "
                f"{', '.join(f'{x * 1000:.1f}' for x in raw)} ms)"
            ),
        }
    ]


def _raw_ledger_writes(ctx: Any, orders: int = ORDERS) -> tuple[float, float, int]:
    """The writes the ledger needs, straight to moto through the services' own DynamoDB
    client (the same transport as theirs): per order, one PutItem per entry (line x tier) and
    one UpdateItem per distributor balance."""
    from campaign_shared import aws, capacity

    table = ctx.table("distribution")
    client = aws.dynamodb()
    run = uuid.uuid4().hex[:8]
    write = 0.0
    calls = 0
    started = time.perf_counter()
    for n in range(orders):
        for tier, who in ((1, "c"), (2, "p")):
            for i in range(LINES):
                item = {
                    "pk": {"S": f"raw#{run}#{who}"},
                    "sk": {"S": f"entry#2026-11-11T00:00:05Z#o-{n}#l-{i}#t{tier}#accrual"},
                    "entry_id": {"S": f"o-{n}#l-{i}#t{tier}#accrual"},
                    "kind": {"S": "accrual"},
                    "amount": {"N": "100"},
                    "pending": {"N": "100"},
                }
                client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
                write += capacity.write_units(capacity.item_size(item))
                calls += 1
            key = {"pk": {"S": f"raw#{run}#{who}"}, "sk": {"S": "distributor"}}
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="ADD pending :a, version :one",
                ExpressionAttributeValues={":a": {"N": "200"}, ":one": {"N": "1"}},
            )
            write += 1
            calls += 1
    return time.perf_counter() - started, write, calls


def _seed_ledger(ctx: Any, shop: str, sub: str, count: int) -> None:
    from chalicelib.distribution.store import keys as store

    table = ctx.table("distribution")
    pk = store.dist_pk(shop, sub)
    batch = []
    for n in range(count):
        entry_id = f"o-{n:06d}#l-1#t1#accrual"
        batch.append(
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": pk},
                        "sk": {"S": f"entry#2026-11-11T00:00:05Z#{entry_id}"},
                        "entry_id": {"S": entry_id},
                        "kind": {"S": "accrual"},
                        "order_id": {"S": f"o-{n:06d}"},
                        "line_id": {"S": "l-1"},
                        "tier": {"N": "1"},
                        "amount": {"N": "100"},
                        "pending": {"N": "100"},
                        "earned": {"N": "100"},
                        "currency": {"S": "CNY"},
                        "at": {"S": "2026-11-11T00:00:05Z"},
                    }
                }
            }
        )
        if len(batch) == 25 or n == count - 1:
            pending = {table: batch}
            while pending:
                pending = ctx.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            batch = []
    ctx.dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": "distributor"}},
        # as posting keeps them: the balances, and the month's totals (owed, reserved, earned,
        # reversed, withdrawn, entries; domain.statements.MonthTotals) exact from that month
        UpdateExpression="SET pending = :p, earned = :p, months = :m, months_from = :mf ADD version :one",
        ExpressionAttributeValues={
            ":p": {"N": str(100 * count)},
            ":one": {"N": "1"},
            ":m": {
                "M": {"2026-11": {"L": [{"N": str(n)} for n in (100 * count, 0, 100 * count, 0, 0, count)]}}
            },
            ":mf": {"S": "2026-11"},
        },
    )


def _balance_reads(ctx: Any, session: Any) -> list[dict[str, Any]]:
    shop = f"bench-{uuid.uuid4().hex[:8]}"
    rules = {"default_rate_bps": 1000, "auto_approve": True}
    _check(
        session.put(f"{ctx.url}/distribution/rules", json=rules, headers=ctx.bearer("merchant", shop, "m")),
        200,
    )
    seeded = time.perf_counter()
    for sub, count in (("small", SMALL), ("big", BIG)):
        _check(
            session.post(
                f"{ctx.url}/distribution/distributors", json={}, headers=ctx.bearer("customer", shop, sub)
            ),
            201,
        )
        _seed_ledger(ctx, shop, sub, count)
    seeded = time.perf_counter() - seeded
    urls = {}
    for sub, count in (("small", SMALL), ("big", BIG)):
        headers = ctx.bearer("customer", shop, sub)
        url = f"{ctx.url}/distribution/me/balance"
        body = _check(session.get(url, headers=headers), 200)
        if body["pending_amount"] != 100 * count:
            raise RuntimeError(f"balance of {sub} is {body}")
        urls[sub] = headers
    samples = {"small": [], "big": []}
    for _ in range(READS):  # interleaved, so load on the machine hits both alike
        for sub, headers in urls.items():
            started = time.perf_counter()
            _check(session.get(f"{ctx.url}/distribution/me/balance", headers=headers), 200)
            samples[sub].append(time.perf_counter() - started)
    small, big = ctx.percentile(samples["small"], 50), ctx.percentile(samples["big"], 50)
    statement = {"small": [], "big": []}
    for _ in range(STATEMENT_READS):
        for sub, headers in urls.items():
            started = time.perf_counter()
            body = _check(session.get(f"{ctx.url}/distribution/me/statements/2026-11", headers=headers), 200)
            statement[sub].append(time.perf_counter() - started)
            if body["earned_amount"] != 100 * (BIG if sub == "big" else SMALL):
                raise RuntimeError(f"statement of {sub} is {body}")
    s_small, s_big = ctx.percentile(statement["small"], 50), ctx.percentile(statement["big"], 50)
    return [
        {
            "benchmark": f"distribution: GET /me/statements/{{month}}, {BIG:,} ledger entries vs {SMALL}",
            "metric": "p50 ms",
            "value": s_big * 1000,
            "baseline": s_small * 1000,
            "ratio": s_big / s_small,
            "note": (
                f"goal ratio <= 1.5; one read of the distributor: the month totals are kept with the balance "
                f"(domain.statements); n={STATEMENT_READS} each, interleaved, same seeded ledgers"
            ),
        },
        {
            "benchmark": f"distribution: GET /me/balance, {BIG:,} ledger entries vs {SMALL}",
            "metric": "p50 ms",
            "value": big * 1000,
            "baseline": small * 1000,
            "ratio": big / small,
            "note": (
                f"target ratio < 1.5; p99 {ctx.percentile(samples['big'], 99) * 1000:.2f} vs "
                f"{ctx.percentile(samples['small'], 99) * 1000:.2f} ms; "
                f"n={READS} each, interleaved; ledger seeded with raw batch writes in {seeded:.1f} s"
            ),
        },
    ]


def run(ctx: Any) -> list[dict[str, Any]]:
    import requests

    with requests.Session() as session:
        rows = _handler_vs_raw(ctx, session)
        rows += _consumer_throughput(ctx, session)
        rows += _consumer_throughput(ctx, session, binding=True)
        rows += _balance_reads(ctx, session)
    return rows
