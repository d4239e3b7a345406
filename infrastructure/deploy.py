"""``campaign deploy NAME``: create or update the campaign's stacks through change sets.

Every check runs before anything is written (the definition names this campaign and matches
what was packaged, the endpoint answers, existing stacks belong to this campaign, the JWT
secret exists), then the stacks are applied in dependency order (shared, then services).

With ``--endpoint-url`` pointing at moto (detected through its ``/moto-api``), the templates
are adapted first (``adapt``): what moto's CloudFormation cannot create is reported as skipped,
and what it ignores or lacks (subscriptions, queue policies, alarms, PITR, TTL) is applied
through the API after the stack settles (``apply_emulated``), so listing the resources shows
what the templates declare. Event source mappings are created disabled there: moto cannot
run the functions (the local stack polls the queues itself).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infrastructure import cfn
from infrastructure.campaign_def import CampaignDef, CampaignError
from infrastructure.operations import (
    Target,
    check_stacks,
    describe_stack,
    ensure_bucket,
    ensure_secret,
    refuse_retained_tables,
    upload,
    wait_for,
)

Log = Callable[[str], None]
Template = dict[str, Any]
TEMPLATE_BODY_LIMIT = 51_200
TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


def load_manifest(dist: Path, defn: CampaignDef) -> dict[str, Any]:
    path = dist / defn.name / "manifest.json"
    if not path.exists():
        raise CampaignError(f"{path} is missing: run `campaign package {defn.name}` first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("campaign") != defn.name:
        raise CampaignError(
            f"{path} was packaged for campaign {manifest.get('campaign')!r}, "
            f"not {defn.name!r}: run `campaign package {defn.name}`"
        )
    if manifest.get("definition_sha256") != defn.digest():
        raise CampaignError(
            f"the campaign file changed since {defn.name} was packaged: "
            f"run `campaign package {defn.name}` again"
        )
    return manifest


def _gone(target: Target, stack_id: str) -> bool:
    stack = describe_stack(target, stack_id)
    return stack is None or stack["StackStatus"] == "DELETE_COMPLETE"


def failure_reason(target: Target, stack_id: str) -> str:
    events = target.client("cloudformation").describe_stack_events(StackName=stack_id).get("StackEvents", [])
    for event in reversed(events):
        if event.get("ResourceStatus", "").endswith("FAILED"):
            return f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', 'failed')}"
    return "see the stack's events"


def index_steps(template: dict[str, Any], live: dict[str, set[str]]) -> list[tuple[str, dict[str, Any]]]:
    """The templates to apply before ``template`` so that no table gains more than one global
    secondary index per stack update (DynamoDB builds one at a time, and CloudFormation refuses
    an update that adds two). ``live``: the index names each existing table has now. Each step
    is ``(what it adds, template)``: the table's indexes are the live ones plus the next missing
    one, and its attribute definitions only the attributes those keys use."""
    tables = {
        logical: resource["Properties"]
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
        and isinstance(resource["Properties"].get("TableName"), str)
    }
    pending = {}
    for logical, props in tables.items():
        have = live.get(props["TableName"])
        wanted = props.get("GlobalSecondaryIndexes") or []
        if have is None:
            continue  # a table the update creates: created with every index at once
        missing = [g for g in wanted if g["IndexName"] not in have]
        if len(missing) > 1:
            pending[logical] = (have, wanted, missing)
    steps: list[tuple[str, dict[str, Any]]] = []
    rounds = max((len(m) for _, _, m in pending.values()), default=0)
    for n in range(1, rounds):
        step = copy.deepcopy(template)
        added = []
        for logical, (have, wanted, missing) in pending.items():
            take = {g["IndexName"] for g in missing[:n]}
            props = step["Resources"][logical]["Properties"]
            indexes = [g for g in wanted if g["IndexName"] in have or g["IndexName"] in take]
            props["GlobalSecondaryIndexes"] = indexes
            keys = {k["AttributeName"] for k in props["KeySchema"]}
            keys |= {k["AttributeName"] for g in indexes for k in g["KeySchema"]}
            props["AttributeDefinitions"] = [
                a for a in props["AttributeDefinitions"] if a["AttributeName"] in keys
            ]
            added += [f"{props['TableName']} index {g['IndexName']}" for g in missing[n - 1 : n]]
        steps.append((", ".join(added), step))
    return steps


def live_indexes(target: Target, template: dict[str, Any]) -> dict[str, set[str]]:
    """The index names of each of the template's tables that exists now."""
    from botocore.exceptions import ClientError

    found: dict[str, set[str]] = {}
    for resource in template.get("Resources", {}).values():
        name = (
            resource.get("Properties", {}).get("TableName")
            if resource.get("Type") == "AWS::DynamoDB::Table"
            else None
        )
        if not isinstance(name, str):
            continue
        try:
            table = target.client("dynamodb").describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                continue
            raise
        found[name] = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes") or []}
    return found


def apply_stack(
    target: Target,
    name: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    tags: dict[str, str],
    existing: dict[str, Any] | None,
    bucket: str,
    log: Log,
) -> str:
    """Create or update one stack through a change set; returns created/updated/unchanged."""
    cf = target.client("cloudformation")
    if existing is not None and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        log(f"  {name}: removing the empty stack left by a failed create ({existing['StackStatus']})")
        stack_id = existing["StackId"]
        cf.delete_stack(StackName=stack_id)
        wait_for(target, lambda: (_gone(target, stack_id), None), f"{name} to be deleted")
        existing = None
    body = json.dumps(template, separators=(",", ":"), sort_keys=True)
    source: dict[str, str] = {"TemplateBody": body}
    if len(body) > TEMPLATE_BODY_LIMIT:
        key = f"{name}/templates/{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
        target.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
        source = {"TemplateURL": f"https://{bucket}.s3.{target.region}.amazonaws.com/{key}"}
    from botocore.exceptions import ClientError

    kind = "UPDATE" if existing is not None else "CREATE"
    try:
        change_set = cf.create_change_set(
            StackName=name,
            ChangeSetName=f"campaign-{int(time.time() * 1000)}",
            ChangeSetType=kind,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **source,
        )
    except ClientError as exc:  # moto answers an empty update at once instead of a FAILED change set
        if any(marker in str(exc) for marker in NO_CHANGES):
            return "unchanged"
        raise

    def ready() -> tuple[bool, Any]:
        found = cf.describe_change_set(ChangeSetName=change_set["Id"])
        return found["Status"] in ("CREATE_COMPLETE", "FAILED"), found

    described = wait_for(target, ready, f"the change set of {name}")
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        cf.delete_change_set(ChangeSetName=change_set["Id"])
        if any(marker in reason for marker in NO_CHANGES):
            return "unchanged"
        if kind == "CREATE":
            cf.delete_stack(StackName=change_set["StackId"])
        raise CampaignError(f"{name}: the change set failed: {reason}")
    log(f"  {name}: {kind.lower()} with {len(described.get('Changes', []))} changes")
    cf.execute_change_set(ChangeSetName=change_set["Id"])

    def settled() -> tuple[bool, Any]:
        stack = describe_stack(target, change_set["StackId"])
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        return not status.endswith("_IN_PROGRESS"), status

    status = wait_for(target, settled, f"{name} to settle")
    if status not in TERMINAL_OK:
        raise CampaignError(f"{name} ended {status}: {failure_reason(target, change_set['StackId'])}")
    return "created" if kind == "CREATE" else "updated"


def deploy(defn: CampaignDef, dist: Path, target: Target, log: Log = print) -> dict[str, Any]:
    manifest = load_manifest(dist, defn)
    out = dist / defn.name
    if defn.region != target.region:
        raise CampaignError(f"campaign {defn.name} lives in {defn.region}, not {target.region}")
    if defn.account_id and defn.account_id != target.account:
        raise CampaignError(
            f"campaign {defn.name} belongs to account {defn.account_id}; "
            f"these credentials are for {target.account}"
        )
    existing = check_stacks(target, defn)
    # Before anything is created: a stack to create must not meet its tables kept by a destroy.
    refuse_retained_tables(target, defn, [part for part, stack in existing.items() if stack is None])
    account = check_account_stack(target, manifest)
    log(
        f"deploying campaign {defn.name} to {target.where} (account {target.account})"
        + (f"; emulator: {target.emulator}" if target.emulator else "")
    )
    ensure_secret(target, defn, log)
    bucket = ensure_bucket(target)
    uploads = [(manifest["layer"]["key"], out / manifest["layer"]["file"])]
    uploads += [(s["code"]["key"], out / s["code"]["file"]) for s in manifest["stacks"] if "code" in s]
    if "docs" in manifest:
        uploads.append((manifest["docs"]["key"], out / manifest["docs"]["file"]))
    sent = sum(upload(target, bucket, key, path) for key, path in uploads)
    log(f"  artifacts: {sent} uploaded, {len(uploads) - sent} already in s3://{bucket}")
    tags = {"campaign": defn.name, **defn.tags}
    results: dict[str, Any] = {"stacks": {}, "skipped": {}, "emulated": {}, "urls": {}}
    results["account"] = ensure_account_stack(target, out, manifest, account, bucket, log)
    shared_outputs: dict[str, str] = {}
    for entry in manifest["stacks"]:
        part, name = entry["part"], entry["stack"]
        template = json.loads((out / entry["template"]).read_text(encoding="utf-8"))
        parameters = {cfn.BUCKET_PARAM: bucket}
        if part != "shared":
            parameters[cfn.LAYER_PARAM] = shared_outputs[cfn.LAYER_PARAM]
        if target.emulator:
            template, report = adapt(template)
            results["skipped"][part] = report["skipped"]
        if existing[part] is not None:
            for adds, step in index_steps(template, live_indexes(target, template)):
                log(f"  {name}: first adding {adds} (one new index per table and update)")
                apply_stack(target, name, step, parameters, tags, existing[part], bucket, log)
        outcome = apply_stack(target, name, template, parameters, tags, existing[part], bucket, log)
        if target.emulator:
            results["emulated"][part] = apply_emulated(target, name, template, parameters)
            outputs = emulated_outputs(target, name, template, parameters)
        else:
            stack = describe_stack(target, name) or {}
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if part == "shared":
            shared_outputs = outputs
            if "DocsUrl" in outputs:
                results["docs_url"] = outputs["DocsUrl"]
        elif "ApiUrl" in outputs:
            results["urls"][part] = outputs["ApiUrl"]
        results["stacks"][part] = outcome
        log(f"  {name}: {outcome}")
    for part, skipped in results["skipped"].items():
        if skipped:
            log(
                f"  skipped on {target.emulator}: {cfn.stack_name(defn.name, part)}: "
                + "; ".join(f"{logical} ({why})" for logical, why in sorted(skipped.items()))
            )
    for part, applied in results["emulated"].items():
        if applied:
            log(f"  applied through the API on {target.emulator}: {part}: {', '.join(sorted(applied))}")
    if target.emulator:
        log(f"  event source mappings are created disabled on {target.emulator}: it cannot run the functions")
    for part, url in results["urls"].items():
        log(f"  {part}: {url}")
    if "docs_url" in results:
        log(f"  docs: {results['docs_url']}  (OpenAPI: {results['docs_url']}openapi.json)")
    log(f"campaign {defn.name} deployed: " + ", ".join(f"{p} {o}" for p, o in results["stacks"].items()))
    return results


ACCOUNT_PRESENT = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def check_account_stack(target: Target, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The ``campaign-account`` stack as it is (None: missing); refuses one that is busy or
    broken, before anything is created."""
    entry = manifest.get("account")
    existing = describe_stack(target, entry["stack"]) if entry else None
    if existing is None:
        return None
    state = existing["StackStatus"]
    if state not in ACCOUNT_PRESENT and state not in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        raise CampaignError(
            f"stack {entry['stack'] if entry else '?'} is {state}: wait for it to finish "
            "(or fix it in the console), then retry"
        )
    return existing


def ensure_account_stack(
    target: Target,
    out: Path,
    manifest: dict[str, Any],
    existing: dict[str, Any] | None,
    bucket: str,
    log: Log,
) -> str:
    """The account's API Gateway CloudWatch role (``cfn_api.account_template``): created when the
    ``campaign-account`` stack is missing, else left as it is (another campaign may have made
    it; it is the same for every campaign). Returns created/present."""
    entry = manifest.get("account")
    if entry is None:
        return "not packaged"
    if existing is not None and existing["StackStatus"] in ACCOUNT_PRESENT:
        return "present"
    template = json.loads((out / entry["template"]).read_text(encoding="utf-8"))
    if target.emulator:
        template, report = adapt(template)
        if report["skipped"]:
            log(
                f"  skipped on {target.emulator}: {entry['stack']}: "
                + "; ".join(f"{k} ({why})" for k, why in sorted(report["skipped"].items()))
            )
    tags = {"campaign-account": "api-gateway-cloudwatch-role"}
    outcome = apply_stack(target, entry["stack"], template, {}, tags, existing, bucket, log)
    log(f"  {entry['stack']}: {outcome} (API Gateway's CloudWatch Logs role for this account and region)")
    return outcome


# ---- emulators ------------------------------------------------------------------------------------

APPLIED_BY_API = ("AWS::SNS::Subscription", "AWS::SQS::QueuePolicy", "AWS::CloudWatch::Alarm")
META = "CampaignEmulator"
# Resource types moto's CloudFormation creates (a subset of moto.cloudformation.parsing's model
# map, checked by the tests); anything else in a template is skipped and reported.
MOTO_CREATES = frozenset(
    {
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::RestApi",
        "AWS::DynamoDB::Table",
        "AWS::Events::Rule",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::Lambda::Version",
        "AWS::Logs::LogGroup",
        "AWS::Route53::HostedZone",
        "AWS::Route53::RecordSet",
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::SSM::Parameter",
    }
)
ALARM_KEYS = (
    "AlarmName",
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "AlarmActions",
    "OKActions",
)


def references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                found |= {t.split(".")[0] for t in re.findall(r"\$\{([^}!]+)\}", text) if t not in variables}
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return {f for f in found if not f.startswith("AWS::")}


def adapt(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template moto can deploy, and what was left out: ``skipped`` (with the reason) and
    ``apply`` (resources applied through the API afterwards, kept in the template's Metadata)."""
    adapted = copy.deepcopy(template)
    res = adapted["Resources"]
    skipped: dict[str, str] = {}
    later: dict[str, Any] = {}
    for logical, resource in res.items():
        kind = resource["Type"]
        if kind in APPLIED_BY_API:
            later[logical] = resource
        elif kind == "AWS::ApiGateway::RestApi" and "Body" in resource.get("Properties", {}):
            skipped[logical] = "moto cannot build a REST API from a Body"
        elif kind not in MOTO_CREATES and not kind.startswith("Custom::"):
            skipped[logical] = f"moto's CloudFormation cannot create {kind}"
    changed = True
    while changed:
        changed = False
        for logical, resource in res.items():
            needs = references(resource.get("Properties", {})) & skipped.keys()
            if logical not in skipped and needs:
                skipped[logical] = f"needs {sorted(needs)[0]}, which is skipped"
                later.pop(logical, None)
                changed = True
    for logical in [*skipped, *later]:
        res.pop(logical)
    disabled = []
    for logical, resource in res.items():
        depends = resource.get("DependsOn")
        if depends is not None:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d in res]
            if kept:
                resource["DependsOn"] = kept
            else:
                resource.pop("DependsOn")
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            resource["Properties"]["Enabled"] = False
            disabled.append(logical)
    gone = skipped.keys() | later.keys()
    adapted["Outputs"] = {k: v for k, v in adapted.get("Outputs", {}).items() if not references(v) & gone}
    adapted.setdefault("Metadata", {})[META] = {"emulator": "moto", "skipped": skipped, "apply": later}
    return adapted, {"skipped": skipped, "apply": sorted(later), "disabled": disabled}


class Resolver:
    """Evaluates the intrinsic functions our templates use, against a deployed stack."""

    def __init__(self, target: Target, stack: str, template: Template, parameters: dict[str, str]) -> None:
        self.target = target
        self.template = template
        self.values = {
            "AWS::Region": target.region,
            "AWS::AccountId": target.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
            **parameters,
        }
        self.physical: dict[str, str] = {}
        paginator = target.client("cloudformation").get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack):
            for item in page["StackResourceSummaries"]:
                if item.get("LogicalResourceId") and item.get("PhysicalResourceId"):
                    self.physical[item["LogicalResourceId"]] = item["PhysicalResourceId"]

    def ref(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        if name in self.physical:
            return self.physical[name]
        resource = self.template["Resources"].get(name, {})
        if resource.get("Type") == "AWS::Lambda::LayerVersion":  # moto: no physical id, its own name
            names = (resource["Properties"].get("LayerName"), f"{self.values['AWS::StackName']}-{name}-")
            for layer in self.target.client("lambda").list_layers()["Layers"]:
                if layer["LayerName"] == names[0] or layer["LayerName"].startswith(names[1]):
                    return str(layer["LatestMatchingVersion"]["LayerVersionArn"])
        raise CampaignError(f"cannot resolve Ref {name} on the emulator")

    def att(self, name: str, attribute: str) -> str:
        kind = self.template["Resources"].get(name, {}).get("Type")
        region, account, physical = self.target.region, self.target.account, self.ref(name)
        if kind == "AWS::SQS::Queue":
            queue = physical.rstrip("/").rsplit("/", 1)[-1]
            found = {
                "Arn": f"arn:aws:sqs:{region}:{account}:{queue}",
                "QueueName": queue,
                "QueueUrl": physical,
            }
        elif kind == "AWS::SNS::Topic":
            found = {"TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]}
        elif kind == "AWS::Lambda::Function":
            found = {"Arn": f"arn:aws:lambda:{region}:{account}:function:{physical}"}
        else:
            found = {}
        if attribute not in found:
            raise CampaignError(f"cannot resolve {name}.{attribute} on the emulator")
        return found[attribute]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                name, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.att(name, attribute)
            if key == "Fn::Join":
                return str(value[0]).join(str(self.resolve(v)) for v in value[1])
            if key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                local = {k: self.resolve(v) for k, v in variables.items()}

                def one(match: re.Match[str]) -> str:
                    token = match.group(1)
                    if token in local:
                        return str(local[token])
                    if "." in token and not token.startswith("AWS::"):
                        return self.att(*token.split(".", 1))
                    return self.ref(token)

                return re.sub(r"\$\{([^}!]+)\}", one, text)
        return {k: self.resolve(v) for k, v in node.items()}


def apply_emulated(target: Target, stack: str, template: Template, parameters: dict[str, str]) -> list[str]:
    """Create, idempotently, what the emulator's CloudFormation left out; returns what was applied."""
    meta = template.get("Metadata", {}).get(META)
    if not meta:
        return []
    resolver = Resolver(target, stack, template, parameters)
    applied = []
    names = [
        r["Properties"]["AlarmName"] for r in meta["apply"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    alarms = {
        a["AlarmName"]: a
        for start in range(0, len(names), 100)
        for a in target.client("cloudwatch").describe_alarms(AlarmNames=names[start : start + 100])[
            "MetricAlarms"
        ]
    }
    for logical, resource in meta["apply"].items():
        props = resolver.resolve(resource["Properties"])
        if _apply_one(target, resource["Type"], props, alarms):
            applied.append(logical)
    dynamodb = target.client("dynamodb")
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props, name = resource["Properties"], resolver.ref(logical)
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        wanted = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        if wanted and pitr != "ENABLED":
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            applied.append(f"{logical}.PointInTimeRecovery")
        ttl = props.get("TimeToLiveSpecification")
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl and current.get("TimeToLiveStatus") != "ENABLED":
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            applied.append(f"{logical}.TimeToLive")
    return applied


def _apply_one(target: Target, kind: str, props: dict[str, Any], alarms: dict[str, Any]) -> bool:
    """Apply one resource through the API unless it is already in place; True if it changed."""
    if kind == "AWS::SNS::Subscription":
        sns = target.client("sns")
        pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=props["TopicArn"])
        if any(
            s["Endpoint"] == props["Endpoint"] and s["Protocol"] == props["Protocol"]
            for page in pages
            for s in page["Subscriptions"]
        ):
            return False
        raw = str(props.get("RawMessageDelivery", "false")).lower() == "true"
        sns.subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes={"RawMessageDelivery": "true"} if raw else {},
            ReturnSubscriptionArn=True,
        )
    elif kind == "AWS::SQS::QueuePolicy":
        sqs, changed = target.client("sqs"), False
        policy = json.dumps(props["PolicyDocument"], sort_keys=True)
        for url in props["Queues"]:
            answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            current = answer.get("Attributes", {}).get("Policy")
            if current is None or json.dumps(json.loads(current), sort_keys=True) != policy:
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
                changed = True
        return changed
    elif kind == "AWS::CloudWatch::Alarm":
        wanted = {k: props[k] for k in ALARM_KEYS if k in props}
        found = alarms.get(props["AlarmName"])
        compared = {k: v for k, v in wanted.items() if k not in ("Dimensions", "Threshold")}
        if found and all(found.get(k) == v for k, v in compared.items()):
            return False
        target.client("cloudwatch").put_metric_alarm(**wanted)
    return True


def emulated_outputs(
    target: Target, stack: str, template: Template, parameters: dict[str, str]
) -> dict[str, str]:
    """moto does not fill in the outputs of a stack made by a change set: evaluate them here."""
    resolver = Resolver(target, stack, template, parameters)
    found = {}
    for key, output in template.get("Outputs", {}).items():
        try:
            found[key] = str(resolver.resolve(output["Value"]))
        except CampaignError:
            continue
    return found
