"""The fault-injection switch of the embedded AWS: failures look like AWS's, and clients
with retries still finish every call exactly once in effect."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from infrastructure.local.faults import FaultInjector
from infrastructure.local.moto_server import EmbeddedMoto


@pytest.fixture
def faulty_moto():
    faults = FaultInjector(rate=0.3, seed=11)
    server = EmbeddedMoto(port=0, faults=faults).start()
    yield server, faults
    server.stop()


def _client(server, name, attempts):
    return boto3.client(
        name,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(
            retries={"mode": "standard", "max_attempts": attempts}, read_timeout=5, connect_timeout=2
        ),
    )


def test_injected_faults_are_aws_shaped_and_counted(faulty_moto):
    server, faults = faulty_moto
    faults.rate = 0.0
    raw = _client(server, "dynamodb", attempts=1)
    raw.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    faults.rate, faults.kinds = 1.0, ("throttle",)
    with pytest.raises(ClientError) as throttled:
        raw.get_item(TableName="t", Key={"pk": {"S": "x"}})
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    faults.kinds = ("error",)
    with pytest.raises(ClientError) as failed:
        raw.get_item(TableName="t", Key={"pk": {"S": "x"}})
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    faults.kinds = ("drop_before",)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        raw.get_item(TableName="t", Key={"pk": {"S": "x"}})
    assert faults.injected["dynamodb:throttle"] >= 1 and faults.injected["dynamodb:error"] >= 1
    assert faults.injected["dynamodb:drop_before"] >= 1


def test_conditional_counter_stays_exact_under_faults_with_retries(faulty_moto):
    server, faults = faulty_moto
    faults.rate = 0.0
    client = _client(server, "dynamodb", attempts=10)
    client.create_table(
        TableName="c",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    faults.rate, faults.kinds = 0.3, ("throttle", "error", "drop_before")
    created = 0
    for i in range(40):
        client.put_item(
            TableName="c", Item={"pk": {"S": f"k{i}"}}, ConditionExpression="attribute_not_exists(pk)"
        )
        created += 1
    faults.rate = 0.0
    assert created == 40
    assert client.scan(TableName="c", Select="COUNT")["Count"] == 40
    assert sum(faults.injected.values()) > 0


def test_fault_rate_is_validated():
    with pytest.raises(ValueError):
        FaultInjector(rate=1.5)
    with pytest.raises(ValueError):
        FaultInjector(rate=0.1, kinds=("meteor",))
    assert FaultInjector.from_env({}) is None
    assert FaultInjector.from_env({"CAMPAIGN_FAULT_RATE": "0.1"}).rate == 0.1
