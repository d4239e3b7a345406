"""Event-source pollers: each service queue feeds its consumer function as Lambda's SQS event
source mapping does: batches of up to 10, ``ReportBatchItemFailures`` honoured (only the
failed records return to the queue), failed messages redelivered after a visibility
timeout and moved to the DLQ by the queue's redrive policy after 5 receives.

Lambda redelivers a failed record after the queue's visibility timeout (minutes). Locally
the first retry comes after ``retry_after_seconds`` and each next one ``RETRY_GROWTH`` times
later, up to the visibility timeout: quick for a passing conflict, yet a message kept
failing because a delivery that died (a crash) still holds a lease, such as distribution's
120 s group claims, is not dead-lettered before that lease runs out.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

RETRY_GROWTH = 5  # with 1 s: retries after 1, 5, 25 and 125 s, the 5th receive at 156 s


class LambdaContext:
    """The parts of Lambda's context object the handlers use."""

    def __init__(self, function_name: str, timeout_ms: int = 60_000) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller:
    def __init__(
        self,
        *,
        name: str,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Any,
        batch_size: int = 10,
        retry_after_seconds: int = 1,
        visibility_timeout: int = 180,
        idle_sleep: float = 0.1,
        region: str = "us-east-1",
        log: Any = None,
    ) -> None:
        self.name = name
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size
        self.retry_after_seconds = retry_after_seconds
        self.visibility_timeout = visibility_timeout
        self.idle_sleep = idle_sleep
        self.region = region
        self.log = log
        self.stats = {"batches": 0, "messages": 0, "failed": 0, "errors": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> QueuePoller:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()
        return self

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.poll_once()
            except Exception as exc:  # the endpoint is down or busy: back off, keep polling
                self.stats["errors"] += 1
                if self.log is not None:
                    self.log.warning("poller error", extra={"queue": self.name, "error": repr(exc)})
                handled = 0
            if not handled:
                self._stop.wait(self.idle_sleep)

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, acknowledge what succeeded; returns batch size."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,  # long polls would hold the storage lock; poll and sleep instead
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}
        by_id = {m["MessageId"]: m for m in messages}
        try:
            result = self.handler(event, LambdaContext(self.name))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception as exc:  # the whole invocation failed: every record returns
            failed = set(by_id)
            if self.log is not None:
                self.log.warning("consumer raised", extra={"queue": self.name, "error": repr(exc)})
        self.stats["batches"] += 1
        self.stats["messages"] += len(messages)
        self.stats["failed"] += len(failed)
        done = [m for mid, m in by_id.items() if mid not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        retry = [by_id[mid] for mid in failed if mid in by_id]
        if retry:
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay(m),
                    }
                    for i, m in enumerate(retry)
                ],
            )
        return len(messages)

    def retry_delay(self, message: dict[str, Any]) -> int:
        """Seconds until a failed message is received again (it was received ``n`` times)."""
        received = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        return int(
            min(self.visibility_timeout, self.retry_after_seconds * RETRY_GROWTH ** max(0, received - 1))
        )
