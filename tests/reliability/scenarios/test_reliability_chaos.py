"""Suite 2, delivery chaos: every queued message (order events and the grant messages they
cause) delivered one to three times in shuffled order, with consumers crashing after their
side effect but before acknowledging; the final coupon states, ledgers, wishlist quantities
and referral rewards equal those of a clean, ordered run."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from campaign_shared.resources import SERVICES as _ALL

SERVICES = tuple(name for name, spec in _ALL.items() if spec.queues)  # the consumers


def _consumers():
    from campaign_shared.resources import service as service_spec
    from infrastructure.dev.apps import load_app

    return {name: getattr(load_app(name), service_spec(name).queue().consumer) for name in SERVICES}


def _attrs(message):
    return {
        k: {kk: vv for kk, vv in v.items() if kk in ("StringValue", "BinaryValue", "DataType")}
        for k, v in (message.get("MessageAttributes") or {}).items()
    }


def _receive(sqs, url):
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def _harvest_and_duplicate(aws, rng, stats):
    """Take every queued message off its queue and put it back 1-3 times, shuffled."""
    sqs = aws["sqs"]
    for name in SERVICES:
        url = aws["resources"]["queues"][name]["url"]
        taken = []
        while batch := _receive(sqs, url):
            for m in batch:
                taken.append(m)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        copies = [m for m in taken for _ in range(rng.randint(1, 3))]
        rng.shuffle(copies)
        stats["messages"] += len(taken)
        stats["deliveries_queued"] += len(copies)
        stats["duplicates"] += len(copies) - len(taken)
        for m in copies:
            sqs.send_message(QueueUrl=url, MessageBody=m["Body"], MessageAttributes=_attrs(m))


def _chaos_drain(aws, rng, stats, crash_rate=0.35, max_rounds=400):
    """Feed every queue to its consumer (batches of up to 10, shuffled); a random share of the
    invocations crash after the handler ran (nothing acknowledged, every record returns);
    messages dead-lettered on the way are redriven; until every queue and DLQ is empty."""
    from infrastructure.local.poller import LambdaContext, sqs_record

    sqs = aws["sqs"]
    consumers = _consumers()
    queues = aws["resources"]["queues"]
    for _ in range(max_rounds):
        busy = False
        for name in rng.sample(SERVICES, len(SERVICES)):
            queue = queues[name]
            batch = _receive(sqs, queue["url"])
            if not batch:
                continue
            busy = True
            rng.shuffle(batch)
            event = {"Records": [sqs_record(m, queue["arn"], "us-east-1") for m in batch]}
            result = consumers[name](event, LambdaContext(name))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            stats["invocations"] += 1
            stats["handler_failures"] += len(failed)
            if rng.random() < crash_rate:  # crashed after the side effects, before the ack
                stats["crashes"] += 1
                stats["crashed_records"] += len(batch)
                failed = {m["MessageId"] for m in batch}
            for m in batch:
                if m["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=queue["url"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=queue["url"], ReceiptHandle=m["ReceiptHandle"])
        if not busy:
            moved = _redrive(sqs, queues)
            stats["dlq_redriven"] += moved
            if not moved:
                return
    raise AssertionError(f"queues still busy after {max_rounds} rounds: {stats}")


def _redrive(sqs, queues):
    moved = 0
    for queue in queues.values():
        while batch := _receive(sqs, queue["dlq_url"]):
            for m in batch:
                sqs.send_message(QueueUrl=queue["url"], MessageBody=m["Body"], MessageAttributes=_attrs(m))
                sqs.delete_message(QueueUrl=queue["dlq_url"], ReceiptHandle=m["ReceiptHandle"])
                moved += 1
    return moved


def _clean_drain(drain):
    for _ in range(4):  # referral -> coupons (grants) -> referral (results)
        stats = drain()
        if not any(s["messages"] for s in stats.values()):
            return
    raise AssertionError("the clean run's queues did not empty")


@pytest.mark.parametrize("seed", [8, 1111])
def test_duplicated_shuffled_crashing_delivery_ends_like_a_clean_run(rel, aws, gateway, drain, seed):
    rng = random.Random(seed)
    clean = rel.Scenario(rel.GatewayCaller(gateway, f"clean-{seed}"), claimers=12, stock=6, workers=1)
    clean.setup()
    clean.post_events(clean.events())
    _clean_drain(drain)
    expected = clean.snapshot()
    assert {k: expected[k] for k in rel.expected_snapshot(12, 6)} == rel.expected_snapshot(12, 6)
    assert expected["wishlist"] == {"reserved_quantity": 0, "fulfilled_quantity": 2, "open_quantity": 1}
    assert expected["referral"]["alice"]["rewards"] == [("referrer", "referrer-reward", "issued")]

    chaotic = rel.Scenario(rel.GatewayCaller(gateway, f"chaos-{seed}"), claimers=12, stock=6, workers=1)
    chaotic.setup()
    events = chaotic.events()
    rng.shuffle(events)
    chaotic.post_events(events)
    stats: Counter[str] = Counter()
    _harvest_and_duplicate(aws, rng, stats)
    _chaos_drain(aws, rng, stats)
    print(f"\n[chaos seed={seed}] {dict(stats)}")
    assert stats["duplicates"] > 0 and stats["crashes"] > 0
    assert chaotic.snapshot() == expected
    assert not clean.c.bad and not chaotic.c.bad
