"""Create every resource of the definition on an AWS-compatible endpoint (moto locally and in
tests). Idempotent: running it on an existing stack changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

from campaign_shared.resources import (
    SERVICES,
    TOPICS,
    TableSpec,
    queue_key,
    queue_name,
    table_name,
    topic_name,
)


class ProvisionError(RuntimeError):
    """A resource exists with a definition other than the one provisioning would make."""


def table_request(stage: str, service: str, spec: TableSpec) -> dict[str, Any]:
    keys = [{"AttributeName": spec.pk, "KeyType": "HASH"}]
    if spec.sk:
        keys.append({"AttributeName": spec.sk, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": table_name(stage, service, spec.logical),
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in spec.attributes()],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.gsis:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g.name,
                "KeySchema": [{"AttributeName": g.pk, "KeyType": "HASH"}]
                + ([{"AttributeName": g.sk, "KeyType": "RANGE"}] if g.sk else []),
                "Projection": {"ProjectionType": g.projection},
            }
            for g in spec.gsis
        ]
    return request


def provision(stage: str, dynamodb: Any, sqs: Any, sns: Any) -> dict[str, Any]:
    """Create tables, queues (with DLQ redrive), topics and raw-delivery subscriptions.

    ``queues`` is keyed by ``queue_key``: the service's name for its main queue (as before),
    ``<service>-<logical>`` for another (``coupons-bulk``)."""
    created: dict[str, Any] = {"tables": [], "queues": {}, "topics": {}}
    existing = set(_all_tables(dynamodb))
    for service in SERVICES.values():
        for spec in service.tables:
            request = table_request(stage, service.name, spec)
            name = request["TableName"]
            if name in existing:
                _check_table(dynamodb, request)
            else:
                _create_table(dynamodb, request)
                if spec.ttl_attribute:
                    dynamodb.update_time_to_live(
                        TableName=name,
                        TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
                    )
            created["tables"].append(name)
    for topic in TOPICS:
        arn = sns.create_topic(Name=topic_name(stage, topic.logical))["TopicArn"]
        created["topics"][topic.logical] = arn
    existing_subs = _subscriptions(sns)
    for service in SERVICES.values():
        for spec in service.queues:
            key = queue_key(service.name, spec.logical)
            dlq_name = queue_name(stage, service.name, dead_letter=True, logical=spec.logical)
            dlq_url = _queue(sqs, dlq_name, {})
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            url = _queue(
                sqs,
                queue_name(stage, service.name, logical=spec.logical),
                {
                    "VisibilityTimeout": str(spec.visibility_timeout),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                    ),
                },
            )
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            created["queues"][key] = {
                "service": service.name,
                "logical": spec.logical,
                "url": url,
                "arn": arn,
                "dlq_url": dlq_url,
                "dlq_arn": dlq_arn,
            }
            for logical in spec.subscribes_to:
                topic_arn = created["topics"][logical]
                if (topic_arn, arn) in existing_subs:
                    continue
                sns.subscribe(
                    TopicArn=topic_arn,
                    Protocol="sqs",
                    Endpoint=arn,
                    Attributes={"RawMessageDelivery": "true"},
                )
    return created


def _create_table(dynamodb: Any, request: dict[str, Any]) -> None:
    """Create a table; one that already exists with the same definition is success (a
    retried create whose first answer was lost finds the table it made)."""
    try:
        dynamodb.create_table(**request)
    except dynamodb.exceptions.ResourceInUseException:
        _check_table(dynamodb, request)


def _check_table(dynamodb: Any, request: dict[str, Any]) -> None:
    table = dynamodb.describe_table(TableName=request["TableName"])["Table"]
    table = _add_missing_indexes(dynamodb, table, request)
    if _definition(table) != _definition(request):
        raise ProvisionError(
            f"table {request['TableName']} already exists with another key schema, attributes or "
            "indexes than the resource definition; delete it (locally: make reset) and start again"
        )


def _add_missing_indexes(dynamodb: Any, table: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """An index the definition gained since the table was made is added to it (one
    ``UpdateTable`` per index, as DynamoDB requires), so a kept local stack keeps its data.
    Only additions: any other difference is left for ``_check_table`` to refuse."""
    have = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes") or []}
    missing = [g for g in request.get("GlobalSecondaryIndexes") or [] if g["IndexName"] not in have]
    if not missing:
        return table
    if any(i not in {g["IndexName"] for g in request.get("GlobalSecondaryIndexes") or []} for i in have):
        return table  # an index the definition no longer has: not an addition
    for index in missing:
        # Every attribute the definition keys on, not only the new index's: moto replaces the
        # table's list with the one given, DynamoDB merges it (and accepts a full list).
        dynamodb.update_table(
            TableName=request["TableName"],
            AttributeDefinitions=request["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_for_index(dynamodb, request["TableName"], index["IndexName"])
    return dict(dynamodb.describe_table(TableName=request["TableName"])["Table"])


def _wait_for_index(dynamodb: Any, table: str, index: str, seconds: float = 1800) -> None:
    """DynamoDB builds one new index at a time (moto at once): the next waits for this one."""
    deadline = time.monotonic() + seconds
    while True:
        found = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes") or []
        if all(g.get("IndexStatus", "ACTIVE") == "ACTIVE" for g in found if g["IndexName"] == index):
            return
        if time.monotonic() > deadline:
            raise ProvisionError(f"index {index} of {table} was still being built after {seconds:.0f} s")
        time.sleep(5)


def _definition(table: dict[str, Any]) -> tuple[Any, ...]:
    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return sorted((k["AttributeName"], k["KeyType"]) for k in schema)

    return (
        keys(table["KeySchema"]),
        sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        sorted(
            (g["IndexName"], keys(g["KeySchema"]), g["Projection"].get("ProjectionType"))
            for g in table.get("GlobalSecondaryIndexes") or []
        ),
    )


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """Create a queue, or bring an existing one back to the definition's attributes."""
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except sqs.exceptions.QueueNameExists:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url


def _all_tables(dynamodb: Any) -> list[str]:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names.extend(page.get("TableNames", []))
    return names


def _subscriptions(sns: Any) -> set[tuple[str, str]]:
    found = set()
    for page in sns.get_paginator("list_subscriptions").paginate():
        for sub in page.get("Subscriptions", []):
            found.add((sub["TopicArn"], sub["Endpoint"]))
    return found


def stage_tables(stage: str) -> list[str]:
    return [table_name(stage, s.name, t.logical) for s in SERVICES.values() for t in s.tables]
