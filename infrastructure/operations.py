"""Operating a deployed campaign: the AWS plumbing every command shares (``Target``),
``campaign dlq`` (show and ``--redrive`` dead-lettered messages) and ``campaign status``."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaign_shared.resources import SERVICES, queue_key, queue_name, table_name
from infrastructure import cfn
from infrastructure.campaign_def import CampaignDef, CampaignError

Log = Callable[[str], None]


@dataclass
class Target:
    """Where stacks go: a region of AWS, or any AWS-compatible endpoint (``emulator`` is
    ``"moto"`` when the endpoint is a moto server)."""

    region: str
    endpoint_url: str | None = None
    emulator: str | None = None
    poll_seconds: float = 5.0
    account: str = ""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, name: str) -> Any:
        if name not in self._clients:
            import boto3
            from botocore.config import Config

            retries = {"mode": "standard", "max_attempts": 3}
            config = Config(connect_timeout=3, read_timeout=60, retries=retries)
            kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
                if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
                    kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
            if "session" not in self._clients:  # one session: service models load once
                self._clients["session"] = boto3.session.Session()
            self._clients[name] = self._clients["session"].client(name, **kwargs)
        return self._clients[name]

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS {self.region}"


def connect(region: str, endpoint_url: str | None = None, emulator: str = "auto") -> Target:
    """A target that answered: the endpoint is reachable and the credentials work."""
    target = Target(region=region, endpoint_url=endpoint_url.rstrip("/") if endpoint_url else None)
    if endpoint_url:
        target.poll_seconds = 0.2
    target.account = target.client("sts").get_caller_identity()["Account"]
    if emulator == "auto":
        target.emulator = "moto" if endpoint_url and _is_moto(endpoint_url) else None
    else:
        target.emulator = None if emulator == "none" else emulator
    return target


def _is_moto(endpoint_url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/config", timeout=3) as answer:
            return answer.status < 300 and isinstance(json.loads(answer.read() or b"null"), dict)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def describe_stack(target: Target, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0] if stacks else None


def wait_for(target: Target, check: Callable[[], tuple[bool, Any]], what: str, timeout: float = 3600) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        done, value = check()
        if done:
            return value
        if time.monotonic() > deadline:
            raise CampaignError(f"timed out waiting for {what}")
        time.sleep(target.poll_seconds)


def stack_campaign(stack: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in stack.get("Tags", []) if t["Key"] == "campaign"), None)


def check_stacks(target: Target, defn: CampaignDef) -> dict[str, dict[str, Any] | None]:
    """The existing stacks of the campaign; refuses stacks of another campaign or mid-operation."""
    found = {}
    for part in cfn.stack_parts():
        name = cfn.stack_name(defn.name, part)
        stack = describe_stack(target, name)
        if stack is not None:
            owner = stack_campaign(stack)
            if owner != defn.name:
                raise CampaignError(
                    f"stack {name} belongs to campaign {owner!r}, not {defn.name!r}: "
                    "refusing to update it; check the campaign file's name"
                )
            if stack["StackStatus"].endswith("_IN_PROGRESS") and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
                raise CampaignError(
                    f"stack {name} is {stack['StackStatus']}: wait for it to finish, then retry"
                )
        found[part] = stack
    return found


def refuse_retained_tables(target: Target, defn: CampaignDef, missing: list[str]) -> None:
    """A stack about to be created must not meet its tables already there: a destroy retains
    them (``DeletionPolicy: Retain``), and CloudFormation would fail half-way, after the
    stacks before it were made. Checked before anything is created."""
    if not missing:
        return
    client = target.client("dynamodb")
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    retained = sorted(
        table_name(defn.name, service, spec.logical)
        for service in missing
        if service in SERVICES
        for spec in SERVICES[service].tables
        if table_name(defn.name, service, spec.logical) in existing
    )
    if retained:
        shown = ", ".join(retained[:3]) + (f" and {len(retained) - 3} more" if len(retained) > 3 else "")
        raise CampaignError(
            f"campaign {defn.name} has {len(retained)} tables kept from a destroyed deployment "
            f"({shown}): nothing was created; deploy the data under a new campaign name and "
            "`campaign import` its export there, or delete those tables with "
            f"`campaign destroy {defn.name} --delete-tables` (it checks the export first)"
        )


# ---- what a deploy needs before the stacks -------------------------------------------------------------


def ensure_secret(target: Target, defn: CampaignDef, log: Log) -> None:
    from botocore.exceptions import ClientError

    client = target.client("secretsmanager")
    try:
        client.describe_secret(SecretId=defn.secret_name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    if target.emulator is None:
        raise CampaignError(
            f"secret {defn.secret_name} does not exist in {target.where}: create it first with "
            f"`aws secretsmanager create-secret --name {defn.secret_name} --secret-string <32+ random chars>`"
        )
    client.create_secret(Name=defn.secret_name, SecretString=secrets.token_urlsafe(32))
    log(f"  created secret {defn.secret_name} with a random value (emulator only)")


def artifact_bucket(target: Target) -> str:
    return f"campaign-artifacts-{target.account}-{target.region}"


def ensure_bucket(target: Target) -> str:
    from botocore.exceptions import ClientError

    s3 = target.client("s3")
    bucket = artifact_bucket(target)
    try:
        s3.head_bucket(Bucket=bucket)
        return bucket
    except ClientError:
        pass
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if target.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    return bucket


def upload(target: Target, bucket: str, key: str, path: Path) -> bool:
    """Upload an artifact unless its content-addressed key is already there."""
    from botocore.exceptions import ClientError

    s3 = target.client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError:
        s3.upload_file(str(path), bucket, key)
        return True


# ---- dead letters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRef:
    """One queue of the definition: ``key`` is how it is shown (``coupons``, ``coupons-bulk``)."""

    key: str
    service: str
    logical: str

    def name(self, stage: str, dead_letter: bool = False) -> str:
        return queue_name(stage, self.service, dead_letter=dead_letter, logical=self.logical)


def queue_services(services: list[str] | None = None) -> list[QueueRef]:
    """Every queue of the definition, or those of ``services``: a service name selects all of
    its queues (``coupons``: its main and its bulk queue), a queue key one (``coupons-bulk``)."""
    every = [
        QueueRef(queue_key(s, q.logical), s, q.logical) for s, spec in SERVICES.items() for q in spec.queues
    ]
    known = {r.service for r in every} | {r.key for r in every}
    unknown = sorted(set(services or []) - known)
    if unknown:
        raise CampaignError(
            f"no queue for {', '.join(unknown)}: queues are "
            f"{', '.join(r.key for r in every)} (a service name selects all of its queues)"
        )
    return [r for r in every if not services or r.service in services or r.key in services]


def queue_url(target: Target, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(target.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" in str(exc) or "does not exist" in str(exc):
            return None
        raise


def depth(target: Target, url: str) -> dict[str, int]:
    attrs = target.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {
        "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def dlq(
    defn: CampaignDef, target: Target, services: list[str] | None = None, limit: int = 10, log: Log = print
) -> dict[str, Any]:
    """Dead-lettered messages per service (peeked: they stay in the DLQ)."""
    sqs = target.client("sqs")
    found: dict[str, Any] = {}
    for ref in queue_services(services):
        service = ref.key
        url = queue_url(target, ref.name(defn.name, dead_letter=True))
        if url is None:
            raise CampaignError(
                f"{service} has no dead-letter queue: is campaign {defn.name} deployed to {target.where}?"
            )
        count = depth(target, url)
        messages: list[dict[str, Any]] = []
        while len(messages) < limit:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=30,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        for start in range(0, len(messages), 10):  # a peek must not hide them: make them visible again
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages[start : start + 10])
                ],
            )
        shown = [_summary(m) for m in messages]
        found[service] = {"queue": url, "depth": count["visible"] + count["in_flight"], "messages": shown}
        log(f"{service}: {found[service]['depth']} dead-lettered message(s)")
        for item in shown:
            log(
                f"  {item['message_id']}  type={item['type']}  sent={item['sent_at']}  "
                f"receives={item['receives']}  {item['body'][:120]}"
            )
    return found


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    attrs = message.get("Attributes", {})
    try:
        body = json.loads(message["Body"])
        kind = body.get("type", "?") if isinstance(body, dict) else "(not an object)"
    except ValueError:
        kind = "(not JSON)"
    sent = datetime.fromtimestamp(int(attrs.get("SentTimestamp", "0")) / 1000, UTC)
    return {
        "message_id": message["MessageId"],
        "type": kind,
        "sent_at": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "receives": int(attrs.get("ApproximateReceiveCount", 0)),
        "body": message["Body"],
    }


def redrive(
    defn: CampaignDef, target: Target, services: list[str] | None = None, log: Log = print
) -> dict[str, int]:
    """Move every dead-lettered message back to the queue it came from (sent first, then deleted)."""
    sqs = target.client("sqs")
    moved: dict[str, int] = {}
    for ref in queue_services(services):
        service = ref.key
        source = queue_url(target, ref.name(defn.name, dead_letter=True))
        dest = queue_url(target, ref.name(defn.name))
        if source is None or dest is None:
            raise CampaignError(f"the {service} queues of campaign {defn.name} do not exist: deploy it first")
        count = depth(target, source)
        # A message that fails again returns only after maxReceiveCount visibility timeouts; moving
        # at most what was there at the start never sends a poison message round in circles.
        budget, total, empty = count["visible"] + count["in_flight"], 0, 0
        while total < budget and empty < 3:
            batch = sqs.receive_message(
                QueueUrl=source,
                MaxNumberOfMessages=min(10, budget - total),
                VisibilityTimeout=60,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                empty += 1
                continue
            entries = []
            for i, message in enumerate(batch):
                entry = {"Id": str(i), "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    entry["MessageAttributes"] = message["MessageAttributes"]
                entries.append(entry)
            answer = sqs.send_message_batch(QueueUrl=dest, Entries=entries)
            sent = {e["Id"] for e in answer.get("Successful", [])}
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(batch)
                if str(i) in sent
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=source, Entries=done)
            total += len(done)
            if len(done) < len(batch):
                raise CampaignError(
                    f"{service}: {len(batch) - len(done)} message(s) could not be sent back; "
                    "they stay in the DLQ: run --redrive again"
                )
        moved[service] = total
        log(f"{service}: moved {total} message(s) from the DLQ back to {ref.name(defn.name)}")
    return moved


# ---- status ---------------------------------------------------------------------------------------


def console_url(target: Target, stack: dict[str, Any]) -> str | None:
    """The AWS console page of a stack (none on an emulator: it has no console)."""
    if target.endpoint_url:
        return None
    from urllib.parse import quote

    stack_id = quote(str(stack.get("StackId", "")), safe="")
    return (
        f"https://{target.region}.console.aws.amazon.com/cloudformation/home?region={target.region}"
        f"#/stacks/stackinfo?stackId={stack_id}"
    )


def stack_outputs(target: Target, name: str, stack: dict[str, Any]) -> dict[str, str]:
    """A stack's outputs; on an emulator that leaves them empty, evaluated from its template."""
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if outputs or not target.emulator:
        return outputs
    from infrastructure.deploy import emulated_outputs

    body = target.client("cloudformation").get_template(StackName=name)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    return emulated_outputs(target, name, template, {})


def status(defn: CampaignDef, target: Target, log: Log = print) -> dict[str, Any]:
    """The stacks and their resources, the alarms, and the queue depths."""
    cf = target.client("cloudformation")
    report: dict[str, Any] = {"stacks": {}, "alarms": {}, "queues": {}}
    log(f"campaign {defn.name} on {target.where}")
    for part in cfn.stack_parts():
        name = cfn.stack_name(defn.name, part)
        stack = describe_stack(target, name)
        if stack is None:
            report["stacks"][part] = {"status": "NOT_DEPLOYED"}
            log(f"  {name}: not deployed")
            continue
        resources: list[dict[str, Any]] = []
        for page in cf.get_paginator("list_stack_resources").paginate(StackName=name):
            resources += [r for r in page["StackResourceSummaries"] if r.get("LogicalResourceId")]
        counts = Counter(r["ResourceStatus"] for r in resources)
        outputs = stack_outputs(target, name, stack)
        listed = [
            {
                "logical_id": r["LogicalResourceId"],
                "name": r.get("PhysicalResourceId") or "",
                "type": r.get("ResourceType", ""),
                "state": r["ResourceStatus"],
            }
            for r in sorted(resources, key=lambda r: (r.get("ResourceType", ""), r["LogicalResourceId"]))
        ]
        report["stacks"][part] = {
            "stack": name,
            "status": stack["StackStatus"],
            "resources": dict(counts),
            "resource_list": listed,
            "url": outputs.get("ApiUrl"),
            "console_url": console_url(target, stack),
        }
        if "DocsUrl" in outputs:
            report["docs_url"] = report["stacks"][part]["docs_url"] = outputs["DocsUrl"]
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        log(
            f"  {name}: {stack['StackStatus']}  resources: {summary or 'none'}"
            + (f"  url: {outputs['ApiUrl']}" if "ApiUrl" in outputs else "")
        )
        if "DocsUrl" in outputs:
            log(f"    docs: {outputs['DocsUrl']}  (OpenAPI: {outputs['DocsUrl']}openapi.json)")
        if report["stacks"][part]["console_url"]:
            log(f"    console: {report['stacks'][part]['console_url']}")
        for r in listed:
            log(f"    {r['type']:<36} {r['name'] or r['logical_id']}  {r['state']}")
    alarms: list[dict[str, Any]] = []
    for page in (
        target.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=f"campaign-{defn.name}-")
    ):
        alarms += page.get("MetricAlarms", [])
    report["alarms"] = {a["AlarmName"]: a["StateValue"] for a in alarms}
    states = Counter(report["alarms"].values())
    log(f"  alarms: {len(alarms)} ({', '.join(f'{n} {s}' for s, n in sorted(states.items())) or 'none'})")
    for name, state in sorted(report["alarms"].items()):
        if state == "ALARM":
            log(f"    ALARM {name}")
    for ref in queue_services():
        service = ref.key
        main = queue_url(target, ref.name(defn.name))
        dead = queue_url(target, ref.name(defn.name, dead_letter=True))
        if main is None or dead is None:
            continue
        q = report["queues"][service] = {"queue": depth(target, main), "dlq": depth(target, dead)}
        log(
            f"  queue {service}: {q['queue']['visible']} waiting, {q['queue']['in_flight']} in flight; "
            f"DLQ {q['dlq']['visible'] + q['dlq']['in_flight']}"
        )
    return report
