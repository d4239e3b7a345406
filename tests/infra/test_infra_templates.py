"""``campaign package``: the templates it writes, checked without any network."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from campaign_shared.resources import SERVICES, queue_key, queue_name, table_name, topic_name
from infrastructure import cfn
from infrastructure.campaign_def import CampaignError
from infrastructure.dev.apps import SERVICE_NAMES

PARTS = ["shared", *SERVICE_NAMES]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_template_passes_cfn_lint_with_no_errors(packaged: Any) -> None:
    """The templates a deploy submits (SAM already translated), linted by cfn-lint itself."""
    files = [str(packaged.out / part / "template.json") for part in PARTS]
    linter = Path(sys.executable).parent / "cfn-lint"

    def lint(chunk: list[str]) -> list[dict[str, Any]]:
        done = subprocess.run(
            [str(linter), "--format", "json", "--regions", "us-east-1", "--", *chunk],
            capture_output=True,
            text=True,
            timeout=300,
        )
        return list(json.loads(done.stdout or "[]"))

    with ThreadPoolExecutor(2) as pool:
        findings = [m for found in pool.map(lint, [files[0::2], files[1::2]]) for m in found]
    errors = [f"{m['Filename']}: {m['Rule']['Id']} {m['Message']}" for m in findings if m["Level"] == "Error"]
    assert errors == []
    assert len(files) == len(PARTS) == 1 + len(SERVICES)


def test_the_package_lints_what_it_writes_and_fails_on_an_error(tmp_path: Path) -> None:
    from infrastructure.package import lint_templates

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "template.json").write_text(
        json.dumps(
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon"}}}}
        )
    )
    with pytest.raises(CampaignError, match=r"bad/template.json: E\d+ .*cfn-lint error"):
        lint_templates(tmp_path, [{"template": "bad/template.json"}], "us-east-1")


def test_the_manifest_lists_the_stacks_in_dependency_order(packaged: Any) -> None:
    manifest = packaged.manifest
    assert [s["part"] for s in manifest["stacks"]] == PARTS
    assert [s["stack"] for s in manifest["stacks"]] == [f"campaign-infra1-{p}" for p in PARTS]
    assert manifest["campaign"] == "infra1" and manifest["definition_sha256"] == packaged.definition.digest()
    for stack in manifest["stacks"][1:]:
        assert (packaged.out / stack["code"]["file"]).exists()
        assert stack["code"]["key"].startswith(f"infra1/{stack['part']}/")


def test_every_table_has_pitr_encryption_and_is_retained(packaged: Any) -> None:
    declared = {}
    for service in SERVICE_NAMES:
        for logical, table in resources(packaged.template(service), "AWS::DynamoDB::Table").items():
            props = table["Properties"]
            assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain", logical
            assert props["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 10,
            }
            assert props["SSESpecification"]["SSEEnabled"] is True
            assert props["BillingMode"] == "PAY_PER_REQUEST"
            declared[props["TableName"]] = props
    expected = {table_name("infra1", s.name, t.logical): t for s in SERVICES.values() for t in s.tables}
    assert set(declared) == set(expected)
    for name, spec in expected.items():
        keys = {k["AttributeName"]: k["KeyType"] for k in declared[name]["KeySchema"]}
        assert keys == ({spec.pk: "HASH", spec.sk: "RANGE"} if spec.sk else {spec.pk: "HASH"})
        assert {g["IndexName"] for g in declared[name].get("GlobalSecondaryIndexes", [])} == {
            g.name for g in spec.gsis
        }
        if spec.ttl_attribute:
            assert declared[name]["TimeToLiveSpecification"] == {
                "AttributeName": spec.ttl_attribute,
                "Enabled": True,
            }


def test_every_queue_has_a_dead_letter_queue_a_subscription_and_a_batch_failure_aware_consumer(
    packaged: Any,
) -> None:
    for service, spec in SERVICES.items():
        template = packaged.template(service)
        queues = resources(template, "AWS::SQS::Queue")
        mappings = resources(template, "AWS::Lambda::EventSourceMapping")
        if not spec.queues:
            assert queues == {} and mappings == {}
            continue
        assert len(queues) == 2 * len(spec.queues) and len(mappings) == len(spec.queues)
        subscribed = []
        for queue in spec.queues:
            prefix = "" if queue.logical == "main" else cfn.camel(queue.logical)
            main = queues[f"{prefix}Queue"]["Properties"]
            dead = queues[f"{prefix}DeadLetterQueue"]["Properties"]
            assert main["QueueName"] == queue_name("infra1", service, logical=queue.logical)
            assert dead["QueueName"] == queue_name("infra1", service, dead_letter=True, logical=queue.logical)
            target = {"Fn::GetAtt": [f"{prefix}DeadLetterQueue", "Arn"]}
            assert main["RedrivePolicy"] == {"deadLetterTargetArn": target, "maxReceiveCount": 5}
            assert main["VisibilityTimeout"] == queue.visibility_timeout
            assert dead["MessageRetentionPeriod"] == 4 * 86400
            mapping = mappings[f"{prefix}QueueEventSource"]["Properties"]
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert mapping["BatchSize"] == queue.batch_size
            assert mapping["EventSourceArn"] == {"Fn::GetAtt": [f"{prefix}Queue", "Arn"]}
            consumer = template["Resources"][mapping["FunctionName"]["Ref"]]
            assert consumer["Properties"]["Handler"] == f"app.{queue.consumer}"
            subscribed += [topic_name("infra1", t) for t in queue.subscribes_to]
        subscriptions = resources(template, "AWS::SNS::Subscription")
        topics = sorted(
            s["Properties"]["TopicArn"]["Fn::Sub"].rsplit(":", 1)[1] for s in subscriptions.values()
        )
        assert topics == sorted(subscribed)
        assert all(s["Properties"]["RawMessageDelivery"] is True for s in subscriptions.values())


def test_bulk_issue_chunks_have_their_own_queue_dlq_alarm_and_smaller_concurrency(packaged: Any) -> None:
    """Issue jobs never wait in line with order events: the coupons stack has a second queue with
    its own DLQ, DLQ alarm, consumer function and an event source capped at 2 concurrent
    invocations (the order queue's mapping is not capped)."""
    template = packaged.template("coupons")
    res = template["Resources"]
    bulk, dead = res["BulkQueue"]["Properties"], res["BulkDeadLetterQueue"]["Properties"]
    assert bulk["QueueName"] == "campaign-infra1-coupons-bulk"
    assert dead["QueueName"] == "campaign-infra1-coupons-bulk-dlq"
    assert bulk["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["BulkDeadLetterQueue", "Arn"]}
    mapping = res["BulkQueueEventSource"]["Properties"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    consumer = res[mapping["FunctionName"]["Ref"]]["Properties"]
    assert consumer["Handler"] == "app.bulk_queue_consumer"
    assert consumer["FunctionName"] == "campaign-infra1-coupons-bulk_queue_consumer"
    assert consumer["Timeout"] * 6 <= bulk["VisibilityTimeout"]
    orders = res["QueueEventSource"]["Properties"]
    assert "ScalingConfig" not in orders and res[orders["FunctionName"]["Ref"]]["Properties"]["Handler"] == (
        "app.queue_consumer"
    )
    alarm = res["BulkDeadLetterQueueAlarm"]["Properties"]
    assert alarm["AlarmName"] == "campaign-infra1-coupons-bulk-dlq-depth"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "campaign-infra1-coupons-bulk-dlq"}]
    assert "BulkQueuePolicy" not in res  # nothing but the service itself sends to it
    assert not [k for k, v in res.items() if v["Type"] == "AWS::SNS::Subscription" and k.startswith("Bulk")]
    assert template["Outputs"]["BulkQueueUrl"] == {"Value": {"Ref": "BulkQueue"}}


def _arns(resource: Any) -> list[Any]:
    return resource if isinstance(resource, list) else [resource]


def test_every_role_is_scoped_to_its_own_service(packaged: Any) -> None:
    for service, spec in SERVICES.items():
        template = packaged.template(service)
        own_tables = set(resources(template, "AWS::DynamoDB::Table"))
        functions = resources(template, "AWS::Lambda::Function")
        roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
        assert roles and roles <= set(resources(template, "AWS::IAM::Role"))
        for role in roles:
            (policy,) = template["Resources"][role]["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = _arns(statement["Action"])
                assert all("*" not in action for action in actions), statement
                assert statement["Resource"] != "*" and "*" not in _arns(statement["Resource"])
                services = {a.split(":")[0] for a in actions}
                if "secretsmanager" in services:  # only reading the campaign's JWT secret
                    assert actions == ["secretsmanager:GetSecretValue"], statement
                    assert statement["Resource"]["Fn::Sub"].endswith(":secret:campaign/infra1/jwt-secret-*")
                if "dynamodb" in services and statement["Sid"] == "ReadOtherTablesByKey":
                    # Another service's table: only GetItem, only the tables the definition names.
                    assert actions == ["dynamodb:GetItem"]
                    read = {arn["Fn::Sub"].rsplit("table/", 1)[1] for arn in _arns(statement["Resource"])}
                    assert read == {table_name("infra1", s, t) for s, t in spec.reads_from}, service
                elif "dynamodb" in services:
                    for arn in _arns(statement["Resource"]):
                        target = arn["Fn::GetAtt"][0] if "Fn::GetAtt" in arn else arn["Fn::Sub"][2:]
                        target = target.split(".")[0]
                        assert target in own_tables, (service, arn)
                if "sqs" in services:
                    allowed = {queue_name("infra1", s, logical=q) for s, q in spec.send_targets()}
                    allowed.add(queue_name("infra1", service))
                    own = {f"{'' if q.logical == 'main' else cfn.camel(q.logical)}Queue" for q in spec.queues}
                    for arn in _arns(statement["Resource"]):
                        if "Fn::GetAtt" in arn:
                            assert arn["Fn::GetAtt"][0] in own, (service, arn)
                        else:
                            assert arn["Fn::Sub"].rsplit(":", 1)[1] in allowed, (service, arn)
                if "sns" in services:
                    topics = {arn["Fn::Sub"].rsplit(":", 1)[1] for arn in _arns(statement["Resource"])}
                    assert topics == {topic_name("infra1", t) for t in spec.publishes_to}


def test_the_audience_role_may_send_to_the_coupons_main_and_bulk_queues(packaged: Any) -> None:
    template = packaged.template("audience")
    sends = [
        statement
        for role in resources(template, "AWS::IAM::Role")
        for policy in template["Resources"][role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "SendToServices"
    ]
    targets = {arn["Fn::Sub"].rsplit(":", 1)[1] for s in sends for arn in _arns(s["Resource"])}
    assert targets == {queue_name("infra1", "coupons"), queue_name("infra1", "coupons", logical="bulk")}


def test_alarms_cover_every_function_queue_and_api(packaged: Any) -> None:
    names = set()
    for service, spec in SERVICES.items():
        template = packaged.template(service)
        alarms = {
            a["Properties"]["AlarmName"]: a["Properties"]
            for a in resources(template, "AWS::CloudWatch::Alarm").values()
        }
        names |= set(alarms)
        for function in resources(template, "AWS::Lambda::Function").values():
            name = function["Properties"]["FunctionName"]
            assert alarms[f"{name}-errors"]["Threshold"] == 3
            assert alarms[f"{name}-throttles"]["MetricName"] == "Throttles"
        assert alarms[f"campaign-infra1-{service}-api-5xx"]["Threshold"] == 7
        for queue in spec.queues:
            dlq = alarms[f"campaign-infra1-{queue_key(service, queue.logical)}-dlq-depth"]
            assert dlq["Threshold"] == 0 and dlq["Dimensions"] == [
                {
                    "Name": "QueueName",
                    "Value": queue_name("infra1", service, dead_letter=True, logical=queue.logical),
                }
            ]
        for alarm in alarms.values():
            assert alarm["Period"] == 60
            assert alarm["AlarmActions"] == [cfn.arn("sns", "campaign-infra1-alerts")]
    assert len(names) >= 3 * len(SERVICES)


def test_functions_get_the_campaigns_sizes_environment_and_layer(packaged: Any) -> None:
    for service in SERVICE_NAMES:
        for function in resources(packaged.template(service), "AWS::Lambda::Function").values():
            props = function["Properties"]
            env = props["Environment"]["Variables"]
            assert env["CAMPAIGN_STAGE"] == "infra1" and env["CAMPAIGN_STOCK_SHARDS"] == "8"
            assert env["CAMPAIGN_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
            # the secret's name only: its value is read at run time, never an environment variable
            assert env["CAMPAIGN_JWT_SECRET_NAME"] == "campaign/infra1/jwt-secret"
            assert "CAMPAIGN_JWT_SECRET" not in env
            assert "resolve:secretsmanager" not in json.dumps(env)
            assert env["CAMPAIGN_PUBLIC_BASE_URL"] == "https://infra1.api.example.com"
            assert props["Layers"] == [{"Ref": cfn.LAYER_PARAM}] and props["Runtime"] == "python3.11"
            assert props["FunctionName"].startswith(f"campaign-infra1-{service}-")
    api = packaged.template("coupons")["Resources"]["APIHandler"]["Properties"]
    assert (api["MemorySize"], api["ReservedConcurrentExecutions"], api["Timeout"]) == (1024, 50, 29)
    consumer = packaged.template("coupons")["Resources"]["QueueConsumer"]["Properties"]
    assert (consumer["MemorySize"], consumer["ReservedConcurrentExecutions"]) == (256, 5)
    wishlist = packaged.template("wishlist")["Resources"]["APIHandler"]["Properties"]
    assert "ReservedConcurrentExecutions" not in wishlist


def test_timeouts_come_from_the_service_config_or_suit_the_trigger(packaged: Any) -> None:
    from infrastructure.package import configured_timeouts

    for service, spec in SERVICES.items():
        configured = configured_timeouts(packaged.out / "build" / service)
        for function in resources(packaged.template(service), "AWS::Lambda::Function").values():
            props = function["Properties"]
            name = props["Handler"].split(".", 1)[1]
            if name == "app":
                assert props["Timeout"] == 29
            elif (queue := spec.queue_of_consumer(name)) is not None:
                expected = configured.get(name) or configured.get("*") or queue.visibility_timeout // 6
                assert props["Timeout"] == expected <= queue.visibility_timeout
                advice = f"{service}.{name}: AWS advises a queue visibility timeout of 6x"
                assert any(advice in w for w in packaged.manifest["warnings"]) == (
                    expected * 6 > queue.visibility_timeout
                )
            else:
                assert props["Timeout"] == configured.get(name, configured.get("*", 60))


def test_the_custom_domain_maps_every_service_under_its_prefix(packaged: Any) -> None:
    shared = packaged.template("shared")
    (domain,) = resources(shared, "AWS::ApiGateway::DomainName").values()
    assert domain["Properties"]["DomainName"] == "infra1.api.example.com"
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert resources(shared, "AWS::Route53::RecordSet")
    assert len(resources(shared, "AWS::SNS::Subscription")) == 1  # the alerts e-mail
    for service in SERVICE_NAMES:
        template = packaged.template(service)
        (mapping,) = resources(template, "AWS::ApiGateway::BasePathMapping").values()
        assert mapping["Properties"]["BasePath"] == service
        assert mapping["Properties"]["DomainName"] == "infra1.api.example.com"
        assert template["Outputs"]["ApiUrl"]["Value"] == f"https://infra1.api.example.com/{service}/"


def test_the_settlement_schedule_comes_from_the_campaign(packaged: Any) -> None:
    rules = resources(packaged.template("distribution"), "AWS::Events::Rule")
    schedules = [r["Properties"]["ScheduleExpression"] for r in rules.values()]
    assert "cron(30 3 * * ? *)" in schedules


def test_code_zips_hold_the_service_and_the_shared_package_and_the_layer_the_dependencies(
    packaged: Any,
) -> None:
    for service in SERVICE_NAMES:
        names = zipfile.ZipFile(packaged.out / service / "deployment.zip").namelist()
        assert "app.py" in names and f"chalicelib/{service}/__init__.py" in names
        assert "campaign_shared/resources/model.py" in names
        assert not any(
            n.startswith(("pydantic", "boto3", "chalicelib/coupons/")) for n in names if service != "coupons"
        )
    layer = zipfile.ZipFile(packaged.out / "layer.zip").namelist()
    assert any(n.startswith("python/pydantic_core/") and n.endswith(".so") for n in layer)
    assert any(n.startswith("python/jwt/") for n in layer)
    assert not any(n.startswith("python/boto3/") for n in layer)
    config = json.loads((packaged.out / "build" / "coupons" / ".chalice" / "config.json").read_text())
    assert list(config["stages"]) == ["infra1"]
    assert (packaged.out / "build" / "coupons" / "requirements.txt").read_text() == ""


def test_the_repository_campaigns_generate_their_templates(packaged: Any) -> None:
    from infrastructure.campaign_def import load

    for name in ("double11", "dev"):
        definition, _ = load(name)
        for service in SERVICE_NAMES:
            sam = json.loads((packaged.out / service / "chalice-sam.json").read_text())
            cfn.augment_service(sam, definition, service, f"{name}/{service}/x.zip")
            for function in resources(sam, "AWS::Serverless::Function").values():
                key = function["Properties"]["FunctionName"].removeprefix(f"campaign-{name}-{service}-")
                assert function["Properties"]["MemorySize"] == definition.function(service, key).memory_mb
        assert cfn.shared_template(definition, "k")["Resources"]["DependenciesLayer"]


def test_sizing_a_function_the_app_does_not_have_is_refused(packaged: Any) -> None:
    sizes = {"coupons.nope": packaged.definition.function_defaults}
    definition = packaged.definition.model_copy(update={"functions": sizes})
    sam = json.loads((packaged.out / "coupons" / "chalice-sam.json").read_text())
    with pytest.raises(CampaignError, match="sizes coupons.nope, which the coupons app does not define"):
        cfn.augment_service(sam, definition, "coupons", "k")


def test_the_types_deploy_expects_moto_to_create_are_ones_moto_supports() -> None:
    """moto's CloudFormation creates the types whose model's ``cloudformation_type()`` returns
    them; read from its source (importing every backend to ask would take seconds)."""
    import re

    import moto

    from infrastructure.deploy import APPLIED_BY_API, MOTO_CREATES

    pattern = re.compile(r"def cloudformation_type\(\)[^:]*:\s+(?:#[^\n]*\s+)?return \"(AWS::[\w:]+)\"")
    sources = (path.read_text(encoding="utf-8") for path in Path(moto.__file__).parent.rglob("*.py"))
    supported = {t for text in sources if "cloudformation_type" in text for t in pattern.findall(text)}
    assert {"AWS::DynamoDB::Table", "AWS::SQS::Queue"} <= supported
    assert MOTO_CREATES <= supported
    assert not set(APPLIED_BY_API) & supported  # else CloudFormation should create them


def test_functions_and_stages_are_traced_and_the_stages_throttled(packaged: Any) -> None:
    for service in SERVICE_NAMES:
        template = packaged.template(service)
        functions = resources(template, "AWS::Lambda::Function")
        assert functions and all(
            f["Properties"]["TracingConfig"] == {"Mode": "Active"} for f in functions.values()
        )
        for role in resources(template, "AWS::IAM::Role").values():
            managed = role["Properties"].get("ManagedPolicyArns", [])
            assert {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"} in managed
        stages = resources(template, "AWS::ApiGateway::Stage")
        for stage in stages.values():
            props = stage["Properties"]
            assert props["TracingEnabled"] is True
            every = next(m for m in props["MethodSettings"] if m["ResourcePath"] == "/*")
            assert (every["ThrottlingRateLimit"], every["ThrottlingBurstLimit"]) == (1000, 2000)
    (stage,) = resources(packaged.template("coupons"), "AWS::ApiGateway::Stage").values()
    claims = {
        m["ResourcePath"]: m for m in stage["Properties"]["MethodSettings"] if m["HttpMethod"] == "POST"
    }
    # 8 stock shards x 250 claims/s: what a template's shards take; burst twice that
    claim = claims["/~1templates~1{template_id}~1claim"]
    assert (claim["ThrottlingRateLimit"], claim["ThrottlingBurstLimit"]) == (1000, 2000)
    assert "/~1share-links~1{link_id}~1claim" in claims


def test_a_table_gains_one_index_per_update_when_deploying_over_an_older_stack(packaged: Any) -> None:
    from infrastructure.deploy import index_steps

    template = packaged.template("coupons")
    table = table_name("infra1", "coupons", "main")
    assert index_steps(template, {table: {"gsi1", "gsi2", "gsi3"}}) == []  # up to date
    assert index_steps(template, {}) == []  # a new table is created with every index
    (step,) = index_steps(template, {table: {"gsi1"}})  # deployed before gsi2 and gsi3
    assert step[0] == f"{table} index gsi2"
    props = next(
        r["Properties"] for r in step[1]["Resources"].values() if r["Properties"].get("TableName") == table
    )
    assert [g["IndexName"] for g in props["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == {
        "pk",
        "sk",
        "gsi1pk",
        "gsi1sk",
        "gsi2pk",
        "expires_at",
    }
    others = {k: v for k, v in step[1]["Resources"].items() if v["Properties"] is not props}
    assert others == {k: v for k, v in template["Resources"].items() if k in others}  # nothing else changes
    steps = index_steps(template, {table: set()})  # three to add: two steps, then the template
    assert [s[0] for s in steps] == [f"{table} index gsi1", f"{table} index gsi2"]


def test_api_gateways_own_answers_are_the_error_envelope(packaged: Any) -> None:
    for service in SERVICE_NAMES:
        (api,) = resources(packaged.template(service), "AWS::ApiGateway::RestApi").values()
        found = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
        assert {"THROTTLED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(found)
        throttled = found["THROTTLED"]
        assert throttled["statusCode"] == "429"
        assert throttled["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
        body = throttled["responseTemplates"]["application/json"]
        assert '"code": "too_many_requests"' in body and '"request_id": "$context.requestId"' in body
        assert found["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
        assert "statusCode" not in found["DEFAULT_4XX"]  # keeps the status API Gateway chose
