"""The event-source emulation: batches, partial batch failures, redelivery and the DLQ."""

from __future__ import annotations

import json

from campaign_shared import events
from infrastructure.local.poller import QueuePoller


def _send(aws, service, bodies):
    url = aws["resources"]["queues"][service]["url"]
    for body in bodies:
        aws["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _depth(aws, url):
    attrs = aws["sqs"].get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _poller(aws, service, handler):
    queue = aws["resources"]["queues"][service]
    return QueuePoller(
        name=service,
        sqs=aws["sqs"],
        queue_url=queue["url"],
        queue_arn=queue["arn"],
        handler=handler,
        retry_after_seconds=0,
    )


def test_only_the_failed_record_returns_and_reaches_the_dlq_after_5_receives(aws):
    seen: list[str] = []

    def fail_marked(body):
        seen.append(body["id"])
        if body.get("fail"):
            raise RuntimeError("cannot process")

    def handler(event, context):
        return events.consume(event, context, {"test.message": fail_marked}, "test")

    _send(aws, "coupons", [{"type": "test.message", "id": str(i), "fail": i == 1} for i in range(3)])
    poller = _poller(aws, "coupons", handler)
    assert poller.poll_once() == 3
    assert sorted(seen) == ["0", "1", "2"]
    queue = aws["resources"]["queues"]["coupons"]
    assert _depth(aws, queue["url"]) == 1  # only the failed record came back

    for _ in range(10):
        poller.poll_once()
    assert seen.count("1") == 5 and seen.count("0") == 1 and seen.count("2") == 1
    assert _depth(aws, queue["url"]) == 0
    assert _depth(aws, queue["dlq_url"]) == 1
    (dead,) = aws["sqs"].receive_message(QueueUrl=queue["dlq_url"])["Messages"]
    assert json.loads(dead["Body"])["id"] == "1"


def test_malformed_message_goes_to_dlq_without_blocking_others(aws):
    processed = []

    def handler(event, context):
        return events.consume(event, context, {"test.message": lambda b: processed.append(b["id"])}, "test")

    url = aws["resources"]["queues"]["wishlist"]["url"]
    aws["sqs"].send_message(QueueUrl=url, MessageBody="{not json")
    _send(aws, "wishlist", [{"type": "test.message", "id": "ok"}])
    poller = _poller(aws, "wishlist", handler)
    for _ in range(8):
        poller.poll_once()
    assert processed == ["ok"]
    assert _depth(aws, aws["resources"]["queues"]["wishlist"]["dlq_url"]) == 1


def test_a_consumer_that_raises_returns_the_whole_batch(aws):
    calls = []

    def crashing(event, context):
        calls.append(len(event["Records"]))
        raise RuntimeError("crash before acknowledging")

    _send(aws, "referral", [{"type": "test.message", "id": str(i)} for i in range(4)])
    poller = _poller(aws, "referral", crashing)
    poller.poll_once()
    assert calls == [4]
    assert _depth(aws, aws["resources"]["queues"]["referral"]["url"]) == 4


def test_unhandled_message_types_are_acknowledged(aws, drain):
    _send(aws, "distribution", [{"type": "someone.elses", "id": "x"}])
    stats = drain("distribution")
    assert stats["distribution"]["failed"] == 0
    assert _depth(aws, aws["resources"]["queues"]["distribution"]["url"]) == 0


def test_provisioning_again_restores_the_definition(aws):
    from infrastructure.provision import provision

    url = aws["resources"]["queues"]["coupons"]["url"]
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "2"})
    again = provision("test", aws["dynamodb"], aws["sqs"], aws["sns"])
    assert again["queues"]["coupons"]["url"] == url
    attrs = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "180"


def test_a_message_failing_behind_a_dead_deliverys_lease_outlives_the_lease_before_the_dlq(aws):
    """A delivery killed mid-way (a crash) leaves distribution's group claim held for
    ``CLAIM_SECONDS``; every redelivery fails until then. The local event source backs off
    (1, 5, 25, 125 s, as far as the visibility timeout) so the 5th receive, the last before
    the DLQ, comes after the lease ran out, not 4 s after the crash."""
    from infrastructure.dev.apps import load_app

    load_app("distribution")
    from chalicelib.distribution.usecases.posting import CLAIM_SECONDS

    queue = aws["resources"]["queues"]["coupons"]
    poller = QueuePoller(
        name="coupons",
        sqs=aws["sqs"],
        queue_url=queue["url"],
        queue_arn=queue["arn"],
        handler=None,
        retry_after_seconds=1,
        visibility_timeout=180,
    )
    delays = [poller.retry_delay({"Attributes": {"ApproximateReceiveCount": str(n)}}) for n in range(1, 6)]
    assert delays == [1, 5, 25, 125, 180]
    # even when the crash came after the message's first receive, receives 2..5 span the lease
    assert sum(delays[1:4]) > CLAIM_SECONDS

    def held(event, context):
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    poller.handler = held
    _send(aws, "coupons", [{"type": "test.message"}])
    assert poller.poll_once() == 1
    assert poller.poll_once() == 0  # not back after retry_after_seconds=0 as before: 1 s later
    assert _depth(aws, queue["url"]) == 1 and _depth(aws, queue["dlq_url"]) == 0
