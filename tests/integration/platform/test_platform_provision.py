"""Provisioning is idempotent: a create whose answer was lost and is retried (as botocore
does after a dropped connection) finds its resource already there, with the same
definition, and that is success: ``CAMPAIGN_FAULT_RATE=0.1 make run`` always starts."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.config import Config

from campaign_shared.resources import SERVICES, TOPICS, table_name
from infrastructure.local.faults import _drop
from infrastructure.local.moto_server import EmbeddedMoto
from infrastructure.provision import ProvisionError, provision, stage_tables, table_request


def _action(environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return (parse_qs(body.decode()).get("Action") or ["?"])[0]


class LoseFirstAnswers:
    """Runs every call, but the first call of each action loses its answer (the connection
    drops after the call took effect), so the client's retry meets what the call made."""

    def __init__(self) -> None:
        self.lost: Counter[str] = Counter()

    def maybe_fail(
        self, service: str, environ: dict[str, Any], start_response: Callable[..., Any], call: Any
    ) -> list[bytes]:
        action = _action(environ)
        if (
            action.startswith(("Create", "Subscribe", "SetQueue", "UpdateTimeToLive"))
            and not self.lost[action]
        ):
            self.lost[action] += 1
            call()
            return _drop(environ, start_response)
        return call()


@pytest.fixture
def lossy_moto():
    _reset()
    faults = LoseFirstAnswers()
    server = EmbeddedMoto(port=0, faults=faults).start()
    yield server, faults
    server.stop()
    _reset()


def _reset() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    for backends in (dynamodb_backends, sqs_backends, sns_backends):
        backends[DEFAULT_ACCOUNT_ID]["us-east-1"].reset()


def _clients(server: Any) -> list[Any]:
    return [
        boto3.client(
            name,
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )
        for name in ("dynamodb", "sqs", "sns")
    ]


def test_provisioning_succeeds_when_create_answers_are_lost(lossy_moto):
    server, faults = lossy_moto
    dynamodb, sqs, sns = _clients(server)
    resources = provision("lossy", dynamodb, sqs, sns)
    assert faults.lost["CreateTable"] == 1 and faults.lost["CreateQueue"] == 1
    assert faults.lost["CreateTopic"] == 1 and faults.lost["Subscribe"] == 1

    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(stage_tables("lossy"))
    for service in SERVICES.values():
        for spec in service.tables:
            if spec.ttl_attribute:
                ttl = dynamodb.describe_time_to_live(
                    TableName=table_name("lossy", service.name, spec.logical)
                )
                assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert set(resources["topics"]) == {t.logical for t in TOPICS}
    subscriptions = Counter((s["TopicArn"], s["Endpoint"]) for s in sns.list_subscriptions()["Subscriptions"])
    assert subscriptions and set(subscriptions.values()) == {1}  # none twice
    expected = sum(len(q.subscribes_to) for s in SERVICES.values() for q in s.queues)
    assert len(subscriptions) == expected
    for queue in resources["queues"].values():
        attrs = sqs.get_queue_attributes(QueueUrl=queue["url"], AttributeNames=["RedrivePolicy"])
        assert queue["dlq_arn"] in attrs["Attributes"]["RedrivePolicy"]

    # and provisioning again, answers lost or not, changes nothing
    faults.lost.clear()
    assert provision("lossy", dynamodb, sqs, sns) == resources


def test_an_existing_table_with_another_definition_is_refused_clearly(lossy_moto):
    server, faults = lossy_moto
    faults.lost["CreateTable"] = 1  # this test's own create keeps its answer
    dynamodb, sqs, sns = _clients(server)
    service = next(s for s in SERVICES.values() if s.tables)
    request = table_request("clash", service.name, service.tables[0])
    dynamodb.create_table(
        TableName=request["TableName"],
        KeySchema=[{"AttributeName": "other", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ProvisionError, match=request["TableName"]):
        provision("clash", dynamodb, sqs, sns)


def test_an_index_the_definition_gained_is_added_to_the_existing_table_and_its_items_kept(lossy_moto):
    server, faults = lossy_moto
    faults.lost["CreateTable"] = faults.lost["UpdateTable"] = 1  # this test's calls keep their answers
    dynamodb, sqs, sns = _clients(server)
    spec = next(t for t in SERVICES["coupons"].tables if len(t.gsis) > 1)
    request = table_request("grown", "coupons", spec)
    older = dict(request, GlobalSecondaryIndexes=request["GlobalSecondaryIndexes"][:1])
    older["AttributeDefinitions"] = [
        a for a in request["AttributeDefinitions"] if a["AttributeName"] in ("pk", "sk", "gsi1pk", "gsi1sk")
    ]
    dynamodb.create_table(**older)
    kept = {"pk": {"S": "kept"}, "sk": {"S": "x"}}
    dynamodb.put_item(TableName=request["TableName"], Item=kept)

    provision("grown", dynamodb, sqs, sns)
    table = dynamodb.describe_table(TableName=request["TableName"])["Table"]
    assert sorted(g["IndexName"] for g in table["GlobalSecondaryIndexes"]) == ["gsi1", "gsi2", "gsi3"]
    assert {g["IndexName"]: g["Projection"]["ProjectionType"] for g in table["GlobalSecondaryIndexes"]} == {
        "gsi1": "ALL",
        "gsi2": "KEYS_ONLY",
        "gsi3": "KEYS_ONLY",
    }
    assert dynamodb.get_item(TableName=request["TableName"], Key=kept).get("Item") == kept
