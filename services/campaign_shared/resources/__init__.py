"""The one definition of every resource the services use.

Tables (keys, GSIs, TTL), queues with their DLQs and topics with their subscriptions
are declared here once. The CloudFormation for AWS, the local stack and the test
fixtures are all generated from ``SERVICES`` and ``TOPICS``; services use the same
specs at run time to learn their resource names for the current stage.
"""

from __future__ import annotations

from campaign_shared.resources.model import (
    MAIN_QUEUE,
    GsiSpec,
    QueueSpec,
    ServiceSpec,
    TableSpec,
    TopicSpec,
    queue_key,
    queue_name,
    table_name,
    topic_name,
)
from campaign_shared.resources.services import SERVICES, TOPICS, service

__all__ = [
    "MAIN_QUEUE",
    "GsiSpec",
    "QueueSpec",
    "SERVICES",
    "ServiceSpec",
    "TOPICS",
    "TableSpec",
    "TopicSpec",
    "queue_key",
    "queue_name",
    "service",
    "table_name",
    "topic_name",
]
