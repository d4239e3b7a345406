"""The local stack over real HTTP: routing, events reaching every consumer, atomic conditional
writes on the embedded AWS, big bodies, and data kept across restarts."""

from __future__ import annotations

import concurrent.futures
import uuid

import boto3
import requests
from botocore.exceptions import ClientError

from campaign_shared.resources import SERVICES, table_name

CONSUMERS = tuple(name for name, spec in SERVICES.items() if spec.queues)


def _event(event_id: str, order_id: str = "o-1") -> dict:
    return {
        "event_id": event_id,
        "type": "order.paid",
        "order_id": order_id,
        "customer_id": "c-1",
        "occurred_at": "2026-11-11T00:00:05Z",
        "lines": [
            {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 100, "paid_amount": 100}
        ],
    }


def _status(http, url):
    return http.get(f"{url}/_local/status", timeout=5).json()


def test_health_and_openapi(stack_url, http):
    for prefix in SERVICES:
        assert http.get(f"{stack_url}/{prefix}/health").json() == {"status": "ok"}
    doc = http.get(f"{stack_url}/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/events/orders" in doc["paths"]


def test_order_event_reaches_every_consumer(stack_url, http, bearer, wait_until):
    before = {name: q["messages"] for name, q in _status(http, stack_url)["queues"].items()}
    response = http.post(
        f"{stack_url}/events/orders", json=_event(f"e-{uuid.uuid4()}"), headers=bearer("storefront")
    )
    assert response.status_code == 202

    def delivered():
        queues = _status(http, stack_url)["queues"]
        return all(
            queues[name]["messages"] > before[name] and queues[name]["depth"] == 0 for name in CONSUMERS
        )

    wait_until(delivered, timeout=15)


def test_concurrent_conditional_writes_never_both_succeed(stack_url, http):
    endpoint = _status(http, stack_url)["aws_endpoint"]
    stage = _status(http, stack_url)["stage"]
    table = table_name(stage, "events", "main")
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    key = f"race#{uuid.uuid4()}"
    client.put_item(TableName=table, Item={"pk": {"S": key}, "sk": {"S": "stock"}, "left": {"N": "20"}})

    def take(_: int) -> bool:
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": key}, "sk": {"S": "stock"}},
                UpdateExpression="SET #l = #l - :one",
                ConditionExpression="#l > :zero",
                ExpressionAttributeNames={"#l": "left"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
            )
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(take, range(60)))
    assert sum(results) == 20
    item = client.get_item(TableName=table, Key={"pk": {"S": key}, "sk": {"S": "stock"}})["Item"]
    assert item["left"]["N"] == "0"

    # Two writers racing to create the same record: exactly one wins, every time.
    for round_ in range(10):
        unique = f"once#{uuid.uuid4()}"

        def create(_: int, unique=unique) -> bool:
            try:
                client.put_item(
                    TableName=table,
                    Item={"pk": {"S": unique}, "sk": {"S": "x"}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return True
            except ClientError:
                return False

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            assert sum(pool.map(create, range(2))) == 1, round_


def test_gateway_serves_concurrent_requests(stack_url, bearer):
    headers = bearer("storefront")

    def post(i: int) -> int:
        return requests.post(
            f"{stack_url}/events/orders", json=_event(f"c-{uuid.uuid4()}"), headers=headers, timeout=30
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert set(pool.map(post, range(48))) == {202}


def test_oversized_body_is_413(stack_url, http, bearer):
    body = b'{"event_id":"' + b"x" * (6 * 1024 * 1024 + 10) + b'"}'
    response = http.post(f"{stack_url}/events/orders", data=body, headers=bearer("storefront"))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_route_is_404_envelope(stack_url, http):
    response = http.get(f"{stack_url}/coupons/definitely/not/here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_data_is_kept_across_restarts_and_tokens_are_printed(tmp_path, bearer, launch_stack):
    data = tmp_path / "data"
    log = tmp_path / "first.log"
    process, url = launch_stack(data, log)
    event = _event("kept-1")
    assert requests.post(f"{url}/events/orders", json=event, headers=bearer("storefront")).status_code == 202
    launch_stack.stop(process)
    printed = log.read_text()
    assert f"ready at {url}" in printed and "merchant token:" in printed and "storefront token:" in printed
    assert "stopped; saved" in printed, printed
    assert (data / "MANIFEST").exists() and any(p.name.startswith("snapshot-") for p in data.iterdir())

    process, url = launch_stack(data, tmp_path / "second.log")
    # The first acceptance survived the restart: the same id with another body is refused.
    changed = {**event, "order_id": "o-other"}
    response = requests.post(f"{url}/events/orders", json=changed, headers=bearer("storefront"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "event_id_reused"
    assert requests.post(f"{url}/events/orders", json=event, headers=bearer("storefront")).status_code == 202
