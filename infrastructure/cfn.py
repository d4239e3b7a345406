"""CloudFormation for a campaign, generated from the one resource definition.

A campaign is one ``shared`` stack (topics, the alerts topic, the dependencies layer, the
custom domain) and one stack per service: Chalice's template for the service's functions and
API, merged with the service's tables, queue and DLQ, topic subscriptions, event source
mapping, log groups, alarms and a least-privilege role (queues: ``cfn_queues``; the API's
throttling, gateway responses, CORS forwarding and access logs: ``cfn_api``; the docs API:
``cfn_docs``). Names come from ``campaign_shared.resources`` (the same names the services
compute at run time).
"""

from __future__ import annotations

import re
from typing import Any

from campaign_shared.resources import (
    SERVICES,
    TOPICS,
    ServiceSpec,
    TableSpec,
    queue_name,
    table_name,
    topic_name,
)
from infrastructure import cfn_queues
from infrastructure.campaign_def import CampaignDef, CampaignError
from infrastructure.cfn_api import (
    access_log,
    forward_options,
    gateway_responses,
    method_settings,
)
from infrastructure.dev.apps import SERVICE_NAMES
from infrastructure.provision import table_request

BUCKET_PARAM = "ArtifactBucket"
LAYER_PARAM = "DependenciesLayerArn"
BUCKET_PARAMETER = {"Type": "String", "Description": "Bucket holding the packaged artifacts"}
API_STAGE = "api"
API_TIMEOUT_MAX = 29  # API Gateway's integration timeout
RUNTIME = "python3.11"
DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]
CONSUMER_SQS_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
]


def stack_parts() -> list[str]:
    """Stacks in dependency order: the shared stack first, then one per service."""
    return ["shared", *SERVICE_NAMES]


def stack_name(campaign: str, part: str) -> str:
    return f"campaign-{campaign}-{part}"


def camel(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)


def function_name(stage: str, service: str, function: str) -> str:
    return f"campaign-{stage}-{service}-{function}"


def arn(service: str, resource: str) -> dict[str, Any]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"}


def _alarm(
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    threshold: int,
    defn: CampaignDef,
    statistic: str = "Sum",
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": defn.alarms.period_seconds,
            "EvaluationPeriods": defn.alarms.evaluation_periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [arn("sns", f"campaign-{defn.name}-alerts")],
            "OKActions": [arn("sns", f"campaign-{defn.name}-alerts")],
        },
    }


# ---- the shared stack ----------------------------------------------------------------------------


def shared_template(defn: CampaignDef, layer_key: str, docs_key: str | None = None) -> dict[str, Any]:
    stage = defn.name
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for topic in TOPICS:
        logical = f"Topic{camel(topic.logical)}"
        resources[logical] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": topic_name(stage, topic.logical)},
        }
        outputs[f"{logical}Arn"] = {"Value": {"Ref": logical}}
    resources["AlertsTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": f"campaign-{stage}-alerts"},
    }
    outputs["AlertsTopicArn"] = {"Value": {"Ref": "AlertsTopic"}}
    for i, email in enumerate(defn.alarms.emails):
        resources[f"AlertsEmail{i}"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": "AlertsTopic"}, "Protocol": "email", "Endpoint": email},
        }
    resources["DependenciesLayer"] = {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {
            "LayerName": f"campaign-{stage}-dependencies",
            "Description": "Third-party packages of every service (vendored offline at package time)",
            "Content": {"S3Bucket": {"Ref": BUCKET_PARAM}, "S3Key": layer_key},
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": ["x86_64"],
        },
    }
    outputs[LAYER_PARAM] = {"Value": {"Ref": "DependenciesLayer"}}
    if defn.domain is not None:
        resources["ApiDomain"] = {
            "Type": "AWS::ApiGateway::DomainName",
            "Properties": {
                "DomainName": defn.domain.name,
                "RegionalCertificateArn": defn.domain.certificate_arn,
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
                "SecurityPolicy": "TLS_1_2",
            },
        }
        outputs["ApiDomainTarget"] = {"Value": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}}
        if defn.domain.hosted_zone_id:
            resources["ApiDomainRecord"] = {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": defn.domain.hosted_zone_id,
                    "Name": defn.domain.name,
                    "Type": "A",
                    "AliasTarget": {
                        "DNSName": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]},
                        "HostedZoneId": {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]},
                    },
                },
            }
    if docs_key is not None:
        from infrastructure.cfn_docs import docs_resources

        docs, docs_outputs = docs_resources(defn, docs_key, BUCKET_PARAM, RUNTIME, API_STAGE)
        resources.update(docs)
        outputs.update(docs_outputs)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Campaign {stage}: topics, alerts, dependencies layer, API domain and API docs",
        "Parameters": {BUCKET_PARAM: BUCKET_PARAMETER},
        "Resources": resources,
        "Outputs": outputs,
    }


# ---- a service stack ----------------------------------------------------------------------------


def table_resource(stage: str, service: str, spec: TableSpec, defn: CampaignDef) -> dict[str, Any]:
    request = table_request(stage, service, spec)
    props: dict[str, Any] = {
        "TableName": request["TableName"],
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": request["KeySchema"],
        "AttributeDefinitions": request["AttributeDefinitions"],
        "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": defn.retention.pitr_days,
        },
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
        "DeletionProtectionEnabled": defn.retention.deletion_protection,
    }
    if "GlobalSecondaryIndexes" in request:
        props["GlobalSecondaryIndexes"] = request["GlobalSecondaryIndexes"]
    if spec.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }


def _functions(sam: dict[str, Any]) -> dict[str, str]:
    """Chalice's functions: logical id -> function name ("api" for the REST handler)."""
    found = {}
    for logical, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            handler = resource["Properties"]["Handler"].split(".", 1)[1]
            found[logical] = "api" if handler == "app" else handler
    return found


def augment_service(
    sam: dict[str, Any],
    defn: CampaignDef,
    service: str,
    code_key: str,
    timeouts: dict[str, int] | None = None,
) -> list[str]:
    """Merge the service's resources into Chalice's template (in place); returns warnings.
    ``timeouts`` are the ones the service's Chalice config sets (function name, or ``*``)."""
    spec: ServiceSpec = SERVICES[service]
    stage = defn.name
    res = sam["Resources"]
    warnings: list[str] = []
    functions = _functions(sam)
    # Chalice makes one role per app (or per function with per-function policies): scope them all.
    roles = sorted({res[lg]["Properties"]["Role"]["Fn::GetAtt"][0] for lg in functions})
    known = {f"{service}.{name}" for name in functions.values()}
    unknown = sorted(k for k in defn.functions if k.startswith(f"{service}.") and k not in known)
    if unknown:
        raise CampaignError(
            f"campaign {stage} sizes {', '.join(unknown)}, which the {service} app does not define "
            f"(its functions: {', '.join(sorted(known))})"
        )
    sam["Description"] = f"Campaign {stage}: the {service} service"
    sam.setdefault("Parameters", {}).update(
        {
            BUCKET_PARAM: BUCKET_PARAMETER,
            LAYER_PARAM: {"Type": "String", "Description": "Version ARN of the dependencies layer (shared)"},
        }
    )
    outputs = sam.setdefault("Outputs", {})

    tables = {f"Table{camel(t.logical)}": t for t in spec.tables}
    for logical, table in tables.items():
        res[logical] = table_resource(stage, service, table, defn)
        outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}

    env = {
        "CAMPAIGN_STAGE": stage,
        "CAMPAIGN_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
        # The secret's name, never its value: read at run time (campaign_shared.secrets).
        "CAMPAIGN_JWT_SECRET_NAME": defn.secret_name,
        "CAMPAIGN_PUBLIC_BASE_URL": defn.base_url,
        "CAMPAIGN_STOCK_SHARDS": str(defn.stock_shards),
        # The browser origins granted CORS: answered by the route layer (campaign_shared.cors).
        "CAMPAIGN_CORS_ALLOW_ORIGINS": ",".join(defn.cors.allow_origins),
        "CAMPAIGN_CORS_MAX_AGE": str(defn.cors.max_age_seconds),
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "Campaign",
    }
    settled = [
        _configure_function(res, logical, fn, defn, service, code_key, env, warnings, timeouts or {})
        for logical, fn in functions.items()
    ]
    if service == "distribution" and not any(settled):
        warnings.append("distribution has no scheduled settle* function: settlement_schedule is not applied")
    if spec.queues:
        cfn_queues.queue_resources(res, defn, spec, functions, outputs)
    statements = _statements(defn, spec, list(tables), [f"{lg}LogGroup" for lg in functions])
    for role in roles:
        # X-Ray's write actions take no resource scope: AWS's managed policy grants exactly them.
        res[role]["Properties"]["ManagedPolicyArns"] = [XRAY_WRITE_POLICY]
        res[role]["Properties"]["Policies"] = [
            {
                "PolicyName": f"{service}-own-resources",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ]
    if "RestAPI" in res:
        _api_resources(res, defn, service, outputs)
    return warnings


def _configure_function(
    res: dict[str, Any],
    logical: str,
    fn: str,
    defn: CampaignDef,
    service: str,
    code_key: str,
    env: dict[str, Any],
    warnings: list[str],
    timeouts: dict[str, int],
) -> bool:
    """Name, size, code, layer and environment of one function, its log group and alarms.
    Returns whether it is the settlement schedule (which then runs on the campaign's)."""
    queue = SERVICES[service].queue_of_consumer(fn)
    props = res[logical]["Properties"]
    settings = defn.function(service, fn)
    name = function_name(defn.name, service, fn)
    # The campaign file wins, then the service's Chalice config, then a default that suits the
    # trigger: API Gateway waits 29 s; SQS wants a visibility timeout of 6x the function's.
    default = props.get("Timeout", 60)
    if fn == "api":
        default = API_TIMEOUT_MAX
    elif queue is not None:
        default = queue.visibility_timeout // 6
    timeout = settings.timeout_seconds or timeouts.get(fn) or timeouts.get("*") or default
    if fn == "api":
        if timeout > API_TIMEOUT_MAX:
            raise CampaignError(
                f"{service}.api timeout_seconds {timeout} > {API_TIMEOUT_MAX}: API "
                "Gateway stops waiting after 29 s; lower it in the campaign file"
            )
    elif queue is not None:
        visibility = queue.visibility_timeout
        if timeout > visibility:
            raise CampaignError(
                f"{service}.{fn} timeout {timeout} s exceeds its queue's visibility "
                f"timeout ({visibility} s): a message would be redelivered mid-work"
            )
        if timeout * 6 > visibility:
            warnings.append(
                f"{service}.{fn}: AWS advises a queue visibility timeout of 6x the "
                f"function timeout ({timeout} s x 6 > {visibility} s)"
            )
    props.update(
        {
            "FunctionName": name,
            "MemorySize": settings.memory_mb,
            "Timeout": timeout,
            "Layers": [{"Ref": LAYER_PARAM}],
            "CodeUri": {"Bucket": {"Ref": BUCKET_PARAM}, "Key": code_key},
            "Tracing": "Active",  # X-Ray: the role gets AWSXRayDaemonWriteAccess (service_template)
        }
    )
    props.setdefault("Environment", {}).setdefault("Variables", {}).update(env)
    if settings.reserved_concurrency is None:
        props.pop("ReservedConcurrentExecutions", None)
    else:
        props["ReservedConcurrentExecutions"] = settings.reserved_concurrency
    settlement = False
    for event in props.get("Events", {}).values():
        if service == "distribution" and event.get("Type") == "Schedule" and "settle" in fn:
            event["Properties"]["Schedule"] = defn.settlement_schedule
            settlement = True
    res[f"{logical}LogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": defn.retention.log_days},
    }
    res[f"{logical}ErrorsAlarm"] = _alarm(
        f"{name}-errors",
        f"{name} raised errors",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": {"Ref": logical}},
        defn.alarms.function_errors,
        defn,
    )
    res[f"{logical}ThrottlesAlarm"] = _alarm(
        f"{name}-throttles",
        f"{name} was throttled",
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": {"Ref": logical}},
        defn.alarms.function_throttles,
        defn,
    )
    return settlement


def _statements(defn: CampaignDef, spec: ServiceSpec, tables: list[str], log_groups: list[str]) -> list[Any]:
    """The role's policy: this service's log groups, tables, queue, sends_to queues and topics only."""
    stage, service = defn.name, spec.name
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::GetAtt": [lg, "Arn"]} for lg in log_groups],
        },
        {
            # The JWT secret, read (and re-read after a rotation) by campaign_shared.secrets.
            "Sid": "JwtSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": {
                "Fn::Sub": f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}"
                f":secret:{defn.secret_name}-*"
            },
        },
    ]
    if tables:
        statements.append(
            {
                "Sid": "OwnTables",
                "Effect": "Allow",
                "Action": DYNAMODB_ACTIONS,
                "Resource": [
                    r
                    for t in tables
                    for r in ({"Fn::GetAtt": [t, "Arn"]}, {"Fn::Sub": f"${{{t}.Arn}}/index/*"})
                ],
            }
        )
    if spec.queues:
        own = [{"Fn::GetAtt": [q, "Arn"]} for q in cfn_queues.queue_ids(spec)]
        statements.append(
            {
                "Sid": "OwnQueue",
                "Effect": "Allow",
                "Action": CONSUMER_SQS_ACTIONS,
                "Resource": own[0] if len(own) == 1 else own,
            }
        )
    others = [(s, q) for s, q in spec.send_targets() if s != service]
    if others:
        statements.append(
            {
                "Sid": "SendToServices",
                "Effect": "Allow",
                "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"],
                "Resource": [arn("sqs", queue_name(stage, s, logical=q)) for s, q in others],
            }
        )
    if spec.reads_from:
        statements.append(
            {
                "Sid": "ReadOtherTablesByKey",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": [arn("dynamodb", f"table/{table_name(stage, s, t)}") for s, t in spec.reads_from],
            }
        )
    if spec.publishes_to:
        statements.append(
            {
                "Sid": "PublishTopics",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [arn("sns", topic_name(stage, t)) for t in spec.publishes_to],
            }
        )
    return statements


XRAY_WRITE_POLICY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}


def _api_resources(res: dict[str, Any], defn: CampaignDef, service: str, outputs: dict[str, Any]) -> None:
    """A campaign-unique API name (the 5xx alarm's dimension), regional, under the domain if any."""
    api_name = f"campaign-{defn.name}-{service}"
    forward_options(res["RestAPI"]["Properties"].get("DefinitionBody", {}))
    res["RestAPI"]["Properties"].update(
        {
            "Name": api_name,
            "EndpointConfiguration": "REGIONAL",
            "TracingEnabled": True,
            "MethodSettings": method_settings(defn, service),
            "GatewayResponses": gateway_responses(defn),
            "AccessLogSetting": access_log(res, defn, service),
        }
    )
    res["Api5xxAlarm"] = _alarm(
        f"{api_name}-api-5xx",
        f"{api_name} API answered 5xx",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": api_name, "Stage": API_STAGE},
        defn.alarms.api_5xx,
        defn,
    )
    if defn.domain is not None:
        res["ApiBasePathMapping"] = {
            "Type": "AWS::ApiGateway::BasePathMapping",
            "Properties": {
                "DomainName": defn.domain.name,
                "RestApiId": {"Ref": "RestAPI"},
                "Stage": {"Ref": "RestAPI.Stage"},
                "BasePath": service,
            },
        }
        outputs["ApiUrl"] = {"Value": f"https://{defn.domain.name}/{service}/"}
    else:
        url = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_STAGE + "/"
        outputs["ApiUrl"] = {"Value": {"Fn::Sub": url}}
