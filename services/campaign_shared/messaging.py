"""Publishing to topics and sending to service queues, by logical name."""

from __future__ import annotations

import json
import threading
from typing import Any

from campaign_shared import aws
from campaign_shared.resources import MAIN_QUEUE, queue_name, topic_name
from campaign_shared.settings import get_settings
from campaign_shared.storage import retry

_lock = threading.Lock()
_queue_urls: dict[str, str] = {}


def topic_arn(logical: str) -> str:
    settings = get_settings()
    return f"arn:aws:sns:{settings.region}:{settings.account_id}:{topic_name(settings.stage, logical)}"


def queue_url(service: str, queue: str = MAIN_QUEUE) -> str:
    """The URL of one of ``service``'s queues (its main queue unless ``queue`` names another)."""
    name = queue_name(get_settings().stage, service, logical=queue)
    url = _queue_urls.get(name)
    if url is None:
        url = aws.sqs().get_queue_url(QueueName=name)["QueueUrl"]
        with _lock:
            _queue_urls[name] = url
    return url


def reset() -> None:
    with _lock:
        _queue_urls.clear()


def publish(logical_topic: str, message: dict[str, Any]) -> str:
    """Publish a JSON message; its ``type`` becomes a message attribute for filter policies."""
    attributes = {}
    if isinstance(message.get("type"), str):
        attributes["type"] = {"DataType": "String", "StringValue": message["type"]}
    response = aws.sns().publish(
        TopicArn=topic_arn(logical_topic),
        Message=json.dumps(message, separators=(",", ":")),
        MessageAttributes=attributes,
    )
    return str(response["MessageId"])


def send(service: str, message: dict[str, Any], delay_seconds: int = 0, queue: str = MAIN_QUEUE) -> str:
    response = aws.sqs().send_message(
        QueueUrl=queue_url(service, queue),
        MessageBody=json.dumps(message, separators=(",", ":")),
        DelaySeconds=delay_seconds,
    )
    return str(response["MessageId"])


def send_batch(service: str, messages: list[dict[str, Any]], queue: str = MAIN_QUEUE) -> None:
    """Send up to any number of messages, 10 per call; a partially failed call is retried (with
    backoff) for its failed entries and then raises 503, so nothing is silently dropped."""
    url = queue_url(service, queue)
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"))} for i, m in enumerate(chunk)
        ]
        for _ in retry.attempts(3, busy=f"messages could not be queued to {service}; retry shortly"):
            response = aws.sqs().send_message_batch(QueueUrl=url, Entries=entries)
            failed = {f["Id"] for f in response.get("Failed", [])}
            if not failed:
                break
            entries = [e for e in entries if e["Id"] in failed]
