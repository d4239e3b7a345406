"""The queues of a service stack: for each queue of the definition, the queue, its DLQ, the
DLQ-depth alarm, the topic subscriptions (with the queue policy that lets the topics deliver)
and the event source mapping to the queue's consumer function.

Logical ids: a service's main queue keeps the ids it always had (``Queue``,
``DeadLetterQueue``, ``QueueEventSource``, ...), so an existing stack is updated in place
rather than replacing a queue full of messages; another queue's ids are prefixed with its
logical name (``BulkQueue``, ``BulkDeadLetterQueue``, ``BulkQueueEventSource``, ...).
"""

from __future__ import annotations

from typing import Any

from campaign_shared.resources import MAIN_QUEUE, QueueSpec, ServiceSpec, queue_key, queue_name, topic_name
from infrastructure.campaign_def import CampaignDef, CampaignError


def prefix(spec: QueueSpec) -> str:
    from infrastructure.cfn import camel

    return "" if spec.logical == MAIN_QUEUE else camel(spec.logical)


def queue_ids(service: ServiceSpec) -> list[str]:
    """The logical ids of the service's queues (not their DLQs), for the role's policy."""
    return [f"{prefix(q)}Queue" for q in service.queues]


def queue_resources(
    res: dict[str, Any],
    defn: CampaignDef,
    service: ServiceSpec,
    functions: dict[str, str],
    outputs: dict[str, Any],
) -> None:
    """Add every queue of ``service`` to the template (``functions``: logical id -> name)."""
    for spec in service.queues:
        consumer = next((lg for lg, fn in functions.items() if fn == spec.consumer), None)
        if consumer is None:
            raise CampaignError(
                f"the {service.name} app has no @app.lambda_function("
                f"name={spec.consumer!r}) to consume its {spec.logical} queue"
            )
        _queue(res, defn, service.name, spec, outputs)
        mapping: dict[str, Any] = {
            "EventSourceArn": {"Fn::GetAtt": [f"{prefix(spec)}Queue", "Arn"]},
            "FunctionName": {"Ref": consumer},
            "BatchSize": spec.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": True,
        }
        if spec.max_concurrency is not None:
            mapping["ScalingConfig"] = {"MaximumConcurrency": spec.max_concurrency}
        res[f"{prefix(spec)}QueueEventSource"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "DependsOn": [res[consumer]["Properties"]["Role"]["Fn::GetAtt"][0]],
            "Properties": mapping,
        }


def _queue(
    res: dict[str, Any], defn: CampaignDef, service: str, spec: QueueSpec, outputs: dict[str, Any]
) -> None:
    from infrastructure.cfn import _alarm, arn, camel

    stage, p = defn.name, prefix(spec)
    dead_name = queue_name(stage, service, dead_letter=True, logical=spec.logical)
    res[f"{p}DeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": dead_name,
            "MessageRetentionPeriod": defn.retention.dlq_days * 86400,
            "SqsManagedSseEnabled": True,
        },
    }
    res[f"{p}Queue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": queue_name(stage, service, logical=spec.logical),
            "VisibilityTimeout": spec.visibility_timeout,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [f"{p}DeadLetterQueue", "Arn"]},
                "maxReceiveCount": spec.max_receive_count,
            },
        },
    }
    outputs[f"{p}QueueUrl"] = {"Value": {"Ref": f"{p}Queue"}}
    outputs[f"{p}DeadLetterQueueUrl"] = {"Value": {"Ref": f"{p}DeadLetterQueue"}}
    key = queue_key(service, spec.logical)
    res[f"{p}DeadLetterQueueAlarm"] = _alarm(
        f"campaign-{stage}-{key}-dlq-depth",
        f"messages dead-lettered by {key}",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": dead_name},
        defn.alarms.dlq_depth,
        defn,
        statistic="Maximum",
    )
    if not spec.subscribes_to:
        return
    topic_arns = [arn("sns", topic_name(stage, t)) for t in spec.subscribes_to]
    res[f"{p}QueuePolicy"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": f"{p}Queue"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TopicDelivery",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [f"{p}Queue", "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                    }
                ],
            },
        },
    }
    for topic, topic_arn in zip(spec.subscribes_to, topic_arns, strict=True):
        res[f"{p}Subscription{camel(topic)}"] = {
            "Type": "AWS::SNS::Subscription",
            "DependsOn": [f"{p}QueuePolicy"],
            "Properties": {
                "TopicArn": topic_arn,
                "Protocol": "sqs",
                "RawMessageDelivery": True,
                "Endpoint": {"Fn::GetAtt": [f"{p}Queue", "Arn"]},
            },
        }
