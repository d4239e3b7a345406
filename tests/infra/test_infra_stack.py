"""One campaign deployed to an embedded moto, then operated: ``deploy`` (and its no-op
repeat), ``dlq``, ``status``, ``export``, ``destroy`` and ``import``.

The tests share the module's deployment and run in file order: the round trip near the end
destroys it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from campaign_shared.resources import SERVICES, queue_name, table_name, topic_name
from infrastructure.dev.apps import SERVICE_NAMES

NAME = "infra1"
COUPONS = table_name(NAME, "coupons", "main")
STATS = table_name(NAME, "referral", "main")


def item(i: int) -> dict[str, Any]:
    """Items with every DynamoDB type, so a round trip that loses anything shows."""
    return {
        "pk": {"S": f"template#s1#t{i:03d}"},
        "sk": {"S": "meta"},
        "gsi1pk": {"S": f"shop#s1#{i % 3}"},
        "gsi1sk": {"S": f"2026-11-11T00:00:{i % 60:02d}Z"},
        "amount": {"N": str(10**18 + i)},
        "rate": {"N": "0.0125"},
        "blob": {"B": bytes([i % 256, 0, 255])},
        "tags": {"SS": ["b", "a", f"t{i}"]},
        "shards": {"NS": ["3", "1", str(i + 4)]},
        "codes": {"BS": [b"\x00", bytes([i % 256])] if i % 256 else [b"\x00", b"\x01"]},
        "meta": {"M": {"nested": {"L": [{"S": "x"}, {"N": "-1"}, {"NULL": True}, {"BOOL": i % 2 == 0}]}}},
        "name": {"S": f"券 {i} ✓"},
    }


def snapshot(client: Any, table: str) -> list[str]:
    from infrastructure.export import line

    items = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += [line(i) for i in page["Items"]]
    return sorted(items)


def declared(packaged: Any, kind: str, field: str) -> set[str]:
    found = set()
    for part in ["shared", *SERVICE_NAMES]:
        for resource in packaged.template(part)["Resources"].values():
            if resource["Type"] == kind:
                found.add(resource["Properties"][field])
    return found


@pytest.fixture(scope="module")
def stack(packaged: Any, new_moto: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from infrastructure.deploy import deploy
    from infrastructure.operations import connect

    moto = new_moto()
    lines: list[str] = []
    target = connect("us-east-1", moto.url)
    moto.results = deploy(packaged.definition, packaged.dist, target, log=lines.append)
    moto.log = lines
    dynamodb = moto.client("dynamodb")
    for start in range(0, 120, 25):
        dynamodb.batch_write_item(
            RequestItems={
                COUPONS: [{"PutRequest": {"Item": item(i)}} for i in range(start, min(start + 25, 120))]
            }
        )
    for i in range(7):
        dynamodb.put_item(
            TableName=STATS,
            Item={"pk": {"S": f"code#s1#c{i}"}, "sk": {"S": "stats"}, "visits": {"N": str(i * 11)}},
        )
    moto.dist = tmp_path_factory.mktemp("stack-dist")  # where export records the campaign's last export
    moto.args = ["--file", str(packaged.file), "--endpoint-url", moto.url]
    return moto


def test_deploy_creates_every_table_queue_topic_subscription_and_function_declared(
    stack: Any, packaged: Any
) -> None:
    assert set(stack.results["stacks"].values()) == {"created"}
    tables = set(stack.client("dynamodb").list_tables()["TableNames"])
    assert declared(packaged, "AWS::DynamoDB::Table", "TableName") <= tables
    for table in declared(packaged, "AWS::DynamoDB::Table", "TableName"):
        backups = stack.client("dynamodb").describe_continuous_backups(TableName=table)
        assert (
            backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
                "PointInTimeRecoveryStatus"
            ]
            == "ENABLED"
        )
    queues = {url.rsplit("/", 1)[1] for url in stack.client("sqs").list_queues()["QueueUrls"]}
    assert declared(packaged, "AWS::SQS::Queue", "QueueName") <= queues
    topics = {t["TopicArn"].rsplit(":", 1)[1] for t in stack.client("sns").list_topics()["Topics"]}
    assert declared(packaged, "AWS::SNS::Topic", "TopicName") <= topics
    functions = {f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]}
    assert declared(packaged, "AWS::Lambda::Function", "FunctionName") <= functions
    described = stack.client("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]
    alarms = {a["AlarmName"] for a in described}
    assert declared(packaged, "AWS::CloudWatch::Alarm", "AlarmName") <= alarms

    subscriptions = stack.client("sns").list_subscriptions()["Subscriptions"]
    for service, spec in SERVICES.items():
        for queue in spec.queues:
            name = queue_name(NAME, service, logical=queue.logical)
            queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{name}"
            for topic in queue.subscribes_to:
                (sub,) = [
                    s
                    for s in subscriptions
                    if s["Endpoint"] == queue_arn and s["TopicArn"].endswith(f":{topic_name(NAME, topic)}")
                ]
                arn = sub["SubscriptionArn"]
                attributes = stack.client("sns").get_subscription_attributes(SubscriptionArn=arn)
                assert attributes["Attributes"]["RawMessageDelivery"] == "true"
            (mapping,) = stack.client("lambda").list_event_source_mappings(
                FunctionName=f"campaign-{NAME}-{service}-{queue.consumer}"
            )["EventSourceMappings"]
            assert mapping["EventSourceArn"] == queue_arn
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    stacks = stack.client("cloudformation").describe_stacks()["Stacks"]
    campaign = [s for s in stacks if s["StackName"] != "campaign-account"]
    assert {s["StackName"] for s in campaign} == {f"campaign-{NAME}-{p}" for p in ["shared", *SERVICE_NAMES]}
    assert all({"Key": "campaign", "Value": NAME} in s["Tags"] for s in campaign)
    # the account's API Gateway CloudWatch role: a stack of its own, made by the first deploy
    (account,) = [s for s in stacks if s["StackName"] == "campaign-account"]
    assert stack.results["account"] == "created" and account["StackStatus"] == "CREATE_COMPLETE"


def test_what_moto_cannot_create_is_reported_as_skipped(stack: Any) -> None:
    skipped = stack.results["skipped"]
    # moto has no custom domains and no separate API Gateway stage resource
    assert set(skipped["shared"]) == {"ApiDomain", "ApiDomainRecord", "DocsStage", "DocsBasePathMapping"}
    for service in SERVICE_NAMES:
        assert "moto cannot build a REST API from a Body" in skipped[service]["RestAPI"]
        assert "ApiBasePathMapping" in skipped[service]
        assert any("AWS::ApiGateway::Stage" in why for why in skipped[service].values())
    text = "\n".join(stack.log)
    assert f"skipped on moto: campaign-{NAME}-coupons: " in text and "RestAPI (moto cannot build" in text
    assert "SubscriptionOrderEvents" in stack.results["emulated"]["coupons"]


def test_the_docs_api_and_the_access_log_groups_exist_on_the_deployed_stack(stack: Any) -> None:
    gateway = stack.client("apigateway")
    (api,) = [a for a in gateway.get_rest_apis()["items"] if a["name"] == f"campaign-{NAME}-docs"]
    found = {
        r["path"]: set(r.get("resourceMethods", {}))
        for r in gateway.get_resources(restApiId=api["id"])["items"]
    }
    assert found["/"] == found["/openapi.json"] == found["/assets/{file}"] == {"GET"}
    function = stack.client("lambda").get_function(FunctionName=f"campaign-{NAME}-docs")["Configuration"]
    assert function["Handler"] == "campaign_shared.docs.lambda_handler"
    assert stack.results["docs_url"] == f"https://{NAME}.api.example.com/docs/"
    assert any(line.strip().startswith("docs: https://") for line in stack.log)
    groups = {g["logGroupName"]: g for g in stack.client("logs").describe_log_groups()["logGroups"]}
    for api_name in ("docs", *SERVICE_NAMES):
        group = groups[f"/aws/apigateway/campaign-{NAME}-{api_name}/access"]
        assert group["retentionInDays"] == 7


def test_a_published_order_event_reaches_every_subscribed_queue_raw(stack: Any) -> None:
    topic = f"arn:aws:sns:us-east-1:123456789012:{topic_name(NAME, 'order-events')}"
    body = {"type": "order.paid", "event_id": "e-deploy-1", "shop": "s1"}
    stack.client("sns").publish(TopicArn=topic, Message=json.dumps(body))
    for service, spec in SERVICES.items():
        if not spec.queues or "order-events" not in spec.queue().subscribes_to:
            continue
        sqs = stack.client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name(NAME, service))["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"]) for m in messages] == [body]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])


def modified(stack: Any) -> dict[str, str]:
    functions = stack.client("lambda").list_functions()["Functions"]
    return {f["FunctionName"]: f["LastModified"] for f in functions}


def test_a_second_deploy_is_a_no_op(stack: Any, packaged: Any, cli: Any, capsys: Any) -> None:
    before = modified(stack)
    assert cli("deploy", NAME, *packaged.cli("--endpoint-url", stack.url)) == 0
    out = capsys.readouterr().out
    for part in ["shared", *SERVICE_NAMES]:
        assert f"campaign-{NAME}-{part}: unchanged" in out
    assert "artifacts: 0 uploaded" in out and "applied through the API" not in out
    assert modified(stack) == before


def test_dlq_shows_dead_letters_and_redrive_sends_them_back(
    stack: Any, packaged: Any, cli: Any, capsys: Any
) -> None:
    sqs = stack.client("sqs")
    url = {
        s: sqs.get_queue_url(QueueName=queue_name(NAME, s, dead_letter=True))["QueueUrl"]
        for s in ("coupons", "wishlist")
    }
    url["coupons-bulk"] = sqs.get_queue_url(
        QueueName=queue_name(NAME, "coupons", dead_letter=True, logical="bulk")
    )["QueueUrl"]
    bodies = [json.dumps({"type": "order.paid", "event_id": f"bad-{i}"}) for i in range(3)]
    for body in bodies:
        sqs.send_message(QueueUrl=url["coupons"], MessageBody=body)
    sqs.send_message(QueueUrl=url["wishlist"], MessageBody="not json")
    chunk = json.dumps({"type": "coupon.issue_chunk", "job_id": "job-1", "chunk": 3})
    sqs.send_message(QueueUrl=url["coupons-bulk"], MessageBody=chunk)

    assert cli("dlq", NAME, *packaged.cli("--endpoint-url", stack.url)) == 0
    out = capsys.readouterr().out
    assert "coupons: 3 dead-lettered message(s)" in out and "wishlist: 1 dead-lettered message(s)" in out
    assert "coupons-bulk: 1 dead-lettered message(s)" in out and "type=coupon.issue_chunk" in out
    assert out.count("type=order.paid") == 3 and "type=(not JSON)" in out
    assert "distribution: 0 dead-lettered message(s)" in out

    # A service name selects every queue of it; each message goes back to the queue it came from.
    assert cli("dlq", NAME, "--redrive", "--service", "coupons", *stack.args) == 0
    out = capsys.readouterr().out
    assert "coupons: moved 3 message(s)" in out
    bulk_name = queue_name(NAME, "coupons", logical="bulk")
    assert f"coupons-bulk: moved 1 message(s) from the DLQ back to {bulk_name}" in out
    main = sqs.get_queue_url(QueueName=queue_name(NAME, "coupons"))["QueueUrl"]
    moved = []
    while batch := sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10).get("Messages", []):
        moved += batch
    assert sorted(m["Body"] for m in moved) == sorted(bodies)
    bulk = sqs.get_queue_url(QueueName=bulk_name)["QueueUrl"]
    redriven = sqs.receive_message(QueueUrl=bulk, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in redriven] == [chunk]
    assert sqs.receive_message(QueueUrl=url["coupons"]).get("Messages") is None
    assert sqs.receive_message(QueueUrl=url["coupons-bulk"]).get("Messages") is None
    left = sqs.get_queue_attributes(QueueUrl=url["wishlist"], AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "1"
    assert cli("dlq", NAME, "--service", "coupons-bulk", "--service", "nosuch", *stack.args) == 1
    assert "no queue for nosuch: queues are coupons, coupons-bulk," in capsys.readouterr().err


def test_status_shows_stacks_alarms_and_queue_depths(
    stack: Any, packaged: Any, cli: Any, capsys: Any
) -> None:
    assert cli("status", NAME, *packaged.cli("--endpoint-url", stack.url)) == 0
    out = capsys.readouterr().out
    for part in ["shared", *SERVICE_NAMES]:
        assert f"campaign-{NAME}-{part}: CREATE_COMPLETE" in out
    assert "alarms: " in out and "OK)" in out
    assert "queue wishlist: " in out and "DLQ 1" in out and "queue coupons-bulk: " in out
    assert "AWS::DynamoDB::Table" in out and f"campaign-{NAME}-coupons-main  CREATE_COMPLETE" in out

    assert cli("status", NAME, "--json", *packaged.cli("--endpoint-url", stack.url)) == 0
    report = json.loads(capsys.readouterr().out)
    coupons = report["stacks"]["coupons"]
    assert coupons["status"] == "CREATE_COMPLETE" and coupons["console_url"] is None  # moto: no console
    tables = {r["name"]: r for r in coupons["resource_list"] if r["type"] == "AWS::DynamoDB::Table"}
    assert tables[COUPONS]["state"] == "CREATE_COMPLETE"
    assert (
        report["queues"]["wishlist"]["dlq"]["visible"] + report["queues"]["wishlist"]["dlq"]["in_flight"] == 1
    )

    assert (
        cli("dlq", NAME, "--json", "--service", "wishlist", *packaged.cli("--endpoint-url", stack.url)) == 0
    )
    dead = json.loads(capsys.readouterr().out)
    assert list(dead) == ["wishlist"] and len(dead["wishlist"]["messages"]) == 1


def test_export_writes_every_table_with_counts_and_checksums(
    stack: Any, tmp_path: Path, cli: Any, capsys: Any, monkeypatch: Any
) -> None:
    from infrastructure import export
    from infrastructure.export import Tally

    monkeypatch.setattr(export, "PROGRESS_SECONDS", 0.0)  # a line per item: long work shows progress
    assert cli("export", NAME, "--to", str(tmp_path / "x"), "--dist", str(stack.dist), *stack.args) == 0
    out = capsys.readouterr().out
    assert "exported 127 items from" in out
    assert f"  {COUPONS}: 120 items exported so far (" in out and " items/s)" in out
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    tables = {f"{s.name}.{t.logical}" for s in SERVICES.values() for t in s.tables}
    assert set(manifest["tables"]) == tables
    assert manifest["tables"]["coupons.main"]["count"] == 120
    assert manifest["tables"]["referral.main"]["count"] == 7
    assert manifest["tables"]["wishlist.main"]["count"] == 0
    tally = Tally()
    for text in (tmp_path / "x" / "coupons.main.jsonl").read_text().splitlines():
        tally.add(text)
    assert tally.checksum == manifest["tables"]["coupons.main"]["checksum"]
    record = json.loads((stack.dist / NAME / "last-export.json").read_text())
    assert record["path"] == str((tmp_path / "x").resolve())
    assert cli("export", NAME, "--to", str(tmp_path / "x"), "--dist", str(stack.dist), *stack.args) == 1
    assert "already holds an export" in capsys.readouterr().err


# The campaign's stack and one nested stack per service.
STACKS = 1 + len(SERVICES)


def stacks(moto: Any) -> list[str]:
    """The campaign's stacks (not ``campaign-account``, the account's, which no destroy deletes)."""
    found = moto.client("cloudformation").describe_stacks()["Stacks"]
    return sorted(s["StackName"] for s in found if s["StackName"].startswith(f"campaign-{NAME}-"))


def test_destroy_refuses_without_an_export(stack: Any, tmp_path: Path, cli: Any, capsys: Any) -> None:
    before = stacks(stack)
    assert cli("destroy", NAME, "--dist", str(tmp_path), *stack.args) == 1
    err = capsys.readouterr().err
    assert "no export of campaign infra1: run `campaign export infra1 --to DIR` first" in err
    assert err.count("\n") == 1 and len(before) == STACKS and stacks(stack) == before


def test_destroy_refuses_when_the_data_changed_since_the_export(
    stack: Any, tmp_path: Path, cli: Any, capsys: Any
) -> None:
    assert cli("export", NAME, "--to", str(tmp_path / "x"), "--dist", str(tmp_path), *stack.args) == 0
    key = {"pk": {"S": "template#s1#t007"}, "sk": {"S": "meta"}}
    dynamodb = stack.client("dynamodb")
    dynamodb.update_item(
        TableName=COUPONS,
        Key=key,
        UpdateExpression="SET #n = :v",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":v": {"S": "edited"}},
    )
    try:
        assert cli("destroy", NAME, "--export", str(tmp_path / "x"), *stack.args) == 1
        err = capsys.readouterr().err
        assert f"{COUPONS} has 120 items now and the export" in err and "(same count, different data)" in err
        assert len(stacks(stack)) == STACKS
    finally:
        dynamodb.put_item(TableName=COUPONS, Item=item(7))


def test_destroy_refuses_a_damaged_export(stack: Any, tmp_path: Path, cli: Any, capsys: Any) -> None:
    assert cli("export", NAME, "--to", str(tmp_path / "x"), "--dist", str(tmp_path), *stack.args) == 0
    path = tmp_path / "x" / "referral.main.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    assert cli("destroy", NAME, "--export", str(tmp_path / "x"), *stack.args) == 1
    assert "referral.main.jsonl does not match its manifest (6 items" in capsys.readouterr().err
    assert len(stacks(stack)) == STACKS


def test_export_destroy_and_import_into_a_new_stack_round_trips_every_item(
    stack: Any, packaged: Any, new_moto: Any, tmp_path: Path, cli: Any, capsys: Any
) -> None:
    before = {name: snapshot(stack.client("dynamodb"), name) for name in (COUPONS, STATS)}
    export = tmp_path / "export"
    assert cli("export", NAME, "--to", str(export), "--dist", str(stack.dist), *stack.args) == 0
    capsys.readouterr()

    assert cli("destroy", NAME, "--dist", str(stack.dist), *stack.args) == 0  # finds the last export
    out = capsys.readouterr().out
    assert f"export {export.resolve()} verifies against the live tables" in out
    tables = sum(len(s.tables) for s in SERVICES.values())
    assert f"campaign-{NAME}-shared: deleted" in out and f"retained tables ({tables}; " in out
    assert COUPONS in out
    assert stacks(stack) == []
    names = [s["StackName"] for s in stack.client("cloudformation").describe_stacks()["Stacks"]]
    assert names == ["campaign-account"]  # the account's CloudWatch role: no campaign's to delete
    assert snapshot(stack.client("dynamodb"), COUPONS) == before[COUPONS]  # retained, untouched
    assert stack.client("lambda").list_functions()["Functions"] == []
    assert stack.client("sns").list_subscriptions()["Subscriptions"] == []
    assert stack.client("cloudwatch").describe_alarms()["MetricAlarms"] == []

    target = new_moto()
    args = ["--file", str(packaged.file), "--endpoint-url", target.url]
    assert cli("deploy", NAME, "--dist", str(packaged.dist), *args) == 0
    assert cli("import", NAME, "--from", str(export), *args) == 0
    assert "imported 127 items into campaign infra1 (counts and checksums match)" in capsys.readouterr().out
    for name, items in before.items():
        assert snapshot(target.client("dynamodb"), name) == items
    restored = target.client("dynamodb").get_item(
        TableName=COUPONS, Key={"pk": {"S": "template#s1#t005"}, "sk": {"S": "meta"}}
    )["Item"]
    assert restored["blob"] == {"B": bytes([5, 0, 255])} and restored["amount"] == {"N": str(10**18 + 5)}

    assert cli("import", NAME, "--from", str(export), *args) == 1
    assert "already has items: import into empty tables, or pass --merge" in capsys.readouterr().err

    from infrastructure.campaign_def import CampaignDef
    from infrastructure.export import import_
    from infrastructure.operations import connect
    from infrastructure.provision import provision

    other = CampaignDef.model_validate({**json.loads(packaged.file.read_text()), "name": "infra2"})
    provision("infra2", target.client("dynamodb"), target.client("sqs"), target.client("sns"))
    loaded = import_(other, connect("us-east-1", target.url), export, log=lambda line: None)
    assert loaded["coupons.main"] == 120
    assert snapshot(target.client("dynamodb"), table_name("infra2", "coupons", "main")) == before[COUPONS]


def test_import_refuses_an_export_of_unknown_tables(
    stack: Any, tmp_path: Path, cli: Any, capsys: Any
) -> None:
    export = Path(json.loads((stack.dist / NAME / "last-export.json").read_text())["path"])
    damaged = tmp_path / "x"
    shutil.copytree(export, damaged)
    manifest = json.loads((damaged / "manifest.json").read_text())
    manifest["tables"]["payments.main"] = manifest["tables"]["wishlist.main"]
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    assert cli("import", NAME, "--from", str(damaged), *stack.args) == 1
    assert "the export holds table payments.main, which campaign infra1 lacks" in capsys.readouterr().err
