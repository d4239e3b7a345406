"""/referral: routes and event handlers only (parse, authorize, call the domain, map errors)."""

from typing import Any

from campaign_shared import events
from campaign_shared.api import ServiceApi

api = ServiceApi("referral")
app = api.app

# Message type -> handler of the parsed message body (idempotent on a business key).
HANDLERS: dict[str, events.RecordHandler] = {}


@app.lambda_function(name="queue_consumer")
def queue_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The service queue's consumer (SQS event source, ReportBatchItemFailures)."""
    return events.consume(event, context, HANDLERS, "referral")
