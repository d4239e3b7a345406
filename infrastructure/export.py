"""``campaign export`` / ``import`` / ``destroy``: a campaign's data outlives its stacks.

An export is a folder: one JSON-lines file per table (DynamoDB JSON, binary as base64, set
members sorted) and ``manifest.json`` written last, with each table's item count, the
file's SHA-256 and an order-independent checksum of its items (the sum of the items'
SHA-256 modulo 2^256, so a table read in any order, or imported into another stack, gives
the same value). ``destroy`` deletes nothing until an export of the *current* data verifies:
the files match the manifest and every live table still has the exported count and checksum.
Tables are retained by their DeletionPolicy and listed for the operator.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaign_shared.resources import SERVICES, table_name
from infrastructure import cfn
from infrastructure.campaign_def import CampaignDef, CampaignError
from infrastructure.operations import Target, check_stacks, describe_stack, wait_for

Log = Callable[[str], None]
FORMAT = "campaign-export/1"
_MOD = 1 << 256


def campaign_tables(defn: CampaignDef) -> dict[str, str]:
    """``"<service>.<logical>"`` -> table name, for every table of the one definition."""
    return {
        f"{s.name}.{t.logical}": table_name(defn.name, s.name, t.logical)
        for s in SERVICES.values()
        for t in s.tables
    }


def _encode(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": sorted(base64.b64encode(b).decode() for b in inner)}
    if kind in ("SS", "NS"):
        return {kind: sorted(inner)}
    if kind == "M":
        return {"M": {k: _encode(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_encode(v) for v in inner]}
    return {kind: inner}


def _decode(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: _decode(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_decode(v) for v in inner]}
    return {kind: inner}


def line(item: dict[str, Any]) -> str:
    """The canonical JSON line of an item (what counts and checksums are computed over)."""
    return json.dumps(
        {k: _encode(v) for k, v in item.items()}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


class Tally:
    """Item count and order-independent checksum of a table."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, text: str) -> None:
        self.count += 1
        self.total = (self.total + int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")) % _MOD

    @property
    def checksum(self) -> str:
        return f"sha256-sum:{self.total:064x}"


def scan(target: Target, table: str) -> Iterator[dict[str, Any]]:
    pages = target.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    for page in pages:
        yield from page.get("Items", [])


def existing_tables(target: Target, names: list[str]) -> set[str]:
    found: set[str] = set()
    for page in target.client("dynamodb").get_paginator("list_tables").paginate():
        found |= set(page.get("TableNames", [])) & set(names)
    return found


def live_tally(target: Target, table: str) -> Tally:
    tally = Tally()
    for item in scan(target, table):
        tally.add(line(item))
    return tally


# ---- export -------------------------------------------------------------------------------------------


PROGRESS_SECONDS = 5.0  # a long table shows how far it got this often


class Progress:
    """Lines of progress within one table on long work: items so far and the rate."""

    def __init__(self, table: str, verb: str, log: Log) -> None:
        self.table, self.verb, self.log = table, verb, log
        self.started = self.shown = time.monotonic()

    def tick(self, count: int) -> None:
        now = time.monotonic()
        if now - self.shown < PROGRESS_SECONDS:
            return
        self.shown = now
        rate = count / max(now - self.started, 1e-9)
        self.log(f"  {self.table}: {count} items {self.verb} so far ({rate:,.0f} items/s)")


def export(defn: CampaignDef, target: Target, to: Path, dist: Path, log: Log = print) -> dict[str, Any]:
    tables = campaign_tables(defn)
    missing = sorted(set(tables.values()) - existing_tables(target, list(tables.values())))
    if missing:
        raise CampaignError(
            f"campaign {defn.name} has no table {missing[0]} on {target.where}: "
            "is it deployed there (check --endpoint-url and the region)?"
        )
    if (to / "manifest.json").exists():
        raise CampaignError(f"{to} already holds an export: choose a new folder (exports are kept)")
    to.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "campaign": defn.name,
        "region": target.region,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tables": {},
    }
    for key, name in tables.items():
        tally, digest, path = Tally(), hashlib.sha256(), to / f"{key}.jsonl"
        progress = Progress(name, "exported", log)
        with path.open("w", encoding="utf-8") as out:
            for item in scan(target, name):
                text = line(item)
                tally.add(text)
                data = text + "\n"
                digest.update(data.encode())
                out.write(data)
                progress.tick(tally.count)
        manifest["tables"][key] = {
            "table": name,
            "file": path.name,
            "count": tally.count,
            "checksum": tally.checksum,
            "file_sha256": digest.hexdigest(),
        }
        log(f"  {name}: {tally.count} items")
    partial = to / "manifest.json.tmp"
    partial.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    partial.replace(to / "manifest.json")  # written last: a folder with a manifest is a whole export
    record = dist / defn.name / "last-export.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps({"path": str(to.resolve()), "created_at": manifest["created_at"]}) + "\n", encoding="utf-8"
    )
    total = sum(t["count"] for t in manifest["tables"].values())
    log(f"exported {total} items from {len(tables)} tables of campaign {defn.name} to {to}")
    return manifest


def verify_export(source: Path) -> dict[str, Any]:
    """The export's manifest, after checking every file against it (count, checksum, SHA-256)."""
    path = source / "manifest.json"
    if not path.exists():
        raise CampaignError(f"{source} is not a complete export (no manifest.json): export again")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise CampaignError(f"{path}: unknown export format {manifest.get('format')!r}")
    for entry in manifest["tables"].values():
        tally, digest, file = Tally(), hashlib.sha256(), source / entry["file"]
        if not file.exists():
            raise CampaignError(f"{source}: {entry['file']} is missing; the export is incomplete")
        with file.open("rb") as handle:
            for raw in handle:
                digest.update(raw)
                tally.add(raw.decode("utf-8").rstrip("\n"))
        found = (tally.count, tally.checksum, digest.hexdigest())
        if found != (entry["count"], entry["checksum"], entry["file_sha256"]):
            raise CampaignError(
                f"{source}: {entry['file']} does not match its manifest ({tally.count} "
                f"items, the manifest says {entry['count']}): the export is damaged"
            )
    return manifest


# ---- import -------------------------------------------------------------------------------------------


def import_(
    defn: CampaignDef, target: Target, source: Path, merge: bool = False, log: Log = print
) -> dict[str, int]:
    manifest = verify_export(source)
    tables = campaign_tables(defn)
    unknown = sorted(set(manifest["tables"]) - set(tables))
    if unknown:
        raise CampaignError(f"the export holds table {unknown[0]}, which campaign {defn.name} lacks")
    missing = sorted(set(tables.values()) - existing_tables(target, list(tables.values())))
    if missing:
        raise CampaignError(
            f"table {missing[0]} does not exist on {target.where}: deploy campaign {defn.name} first"
        )
    if not merge:
        for key in manifest["tables"]:
            answer = target.client("dynamodb").scan(TableName=tables[key], Limit=1, Select="COUNT")
            if answer.get("Count") or answer.get("LastEvaluatedKey"):
                raise CampaignError(
                    f"{tables[key]} already has items: import into empty tables, or pass --merge"
                )
    loaded = {}
    for key, entry in manifest["tables"].items():
        batch: list[dict[str, Any]] = []
        progress, written = Progress(tables[key], "imported", log), 0
        with (source / entry["file"]).open(encoding="utf-8") as handle:
            for raw in handle:
                item = {k: _decode(v) for k, v in json.loads(raw).items()}
                batch.append({"PutRequest": {"Item": item}})
                if len(batch) == 25:
                    _write(target, tables[key], batch)
                    written += len(batch)
                    batch = []
                    progress.tick(written)
        if batch:
            _write(target, tables[key], batch)
        tally = live_tally(target, tables[key])
        if not merge and (tally.count, tally.checksum) != (entry["count"], entry["checksum"]):
            raise CampaignError(
                f"{tables[key]} has {tally.count} items after the import, the export "
                f"{entry['count']}: the import did not round-trip; check for other writers"
            )
        loaded[key] = entry["count"]
        log(f"  {tables[key]}: {entry['count']} items")
    log(f"imported {sum(loaded.values())} items into campaign {defn.name} (counts and checksums match)")
    return loaded


def _write(target: Target, table: str, requests: list[dict[str, Any]]) -> None:
    pending, delay = {table: requests}, 0.05
    for _ in range(12):
        answer = target.client("dynamodb").batch_write_item(RequestItems=pending)
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    raise CampaignError(f"{table}: DynamoDB kept refusing writes (throttled): import again with --merge")


# ---- destroy ------------------------------------------------------------------------------------------


def last_export(dist: Path, defn: CampaignDef) -> Path | None:
    record = dist / defn.name / "last-export.json"
    if not record.exists():
        return None
    return Path(json.loads(record.read_text(encoding="utf-8"))["path"])


def destroy(
    defn: CampaignDef,
    target: Target,
    dist: Path,
    export_dir: Path | None = None,
    log: Log = print,
    delete_tables: bool = False,
) -> dict[str, Any]:
    """Delete the stacks once an export of the current data verifies; tables are retained,
    unless ``delete_tables``: then they are deleted too (deletion protection switched off
    first), so the campaign can be deployed again under its name. ``delete_tables`` also
    deletes the tables a previous destroy kept (the stacks already gone), after the same check."""
    stacks = {p: s for p, s in check_stacks(target, defn).items() if s is not None}
    kept = existing_tables(target, list(campaign_tables(defn).values())) if delete_tables else set()
    if not stacks and not kept:
        what = "stacks or tables" if delete_tables else "stacks"
        raise CampaignError(f"campaign {defn.name} has no {what} on {target.where}: nothing to destroy")
    source = export_dir or last_export(dist, defn)
    if source is None:
        raise CampaignError(
            f"no export of campaign {defn.name}: run `campaign export {defn.name} --to DIR` "
            "first (or pass --export DIR); destroy deletes nothing until one verifies"
        )
    manifest = verify_export(source)
    if manifest["campaign"] != defn.name:
        raise CampaignError(f"{source} is an export of campaign {manifest['campaign']!r}, not {defn.name!r}")
    tables = campaign_tables(defn)
    present = existing_tables(target, list(tables.values()))
    for key, name in tables.items():
        entry = manifest["tables"].get(key)
        if name not in present:
            continue
        tally = live_tally(target, name)
        if entry is None or (tally.count, tally.checksum) != (entry["count"], entry["checksum"]):
            exported = entry["count"] if entry else "no"
            same = " (same count, different data)" if entry and entry["count"] == tally.count else ""
            raise CampaignError(
                f"{name} has {tally.count} items now and the export in {source} has "
                f"{exported}{same}: the data changed since the export; "
                f"run `campaign export {defn.name}` again"
            )
    log(
        f"export {source} verifies against the live tables; deleting "
        + ("the stacks and tables" if delete_tables else "the stacks")
        + f" of campaign {defn.name}"
    )
    cf = target.client("cloudformation")
    for part in reversed(cfn.stack_parts()):
        if part not in stacks:
            continue
        name = cfn.stack_name(defn.name, part)
        if target.emulator:
            undo_emulated(target, name)
        cf.delete_stack(StackName=stacks[part]["StackId"])

        def gone(stack_id: str = stacks[part]["StackId"]) -> tuple[bool, str]:
            found = describe_stack(target, stack_id)
            state = found["StackStatus"] if found else "DELETE_COMPLETE"
            return not state.endswith("_IN_PROGRESS"), state

        state = wait_for(target, gone, f"{name} to be deleted")
        if state != "DELETE_COMPLETE":
            raise CampaignError(f"{name} ended {state}; fix the cause in the console and run destroy again")
        log(f"  {name}: deleted")
    retained = sorted(existing_tables(target, list(tables.values())))
    if delete_tables:
        for name in retained:
            delete_table(target, name)
            log(f"  {name}: table deleted (its data is in the export {source})")
        log(f"campaign {defn.name} is gone; `campaign deploy {defn.name}` makes it anew (empty)")
        return {"deleted": sorted(stacks), "retained": [], "tables_deleted": retained, "export": str(source)}
    log(f"retained tables ({len(retained)}; delete them once the export in {source} is stored safely):")
    for name in retained:
        log(f"  {name}")
    log(f"  (`campaign destroy {defn.name} --delete-tables` deletes them after checking the export again)")
    return {"deleted": sorted(stacks), "retained": retained, "export": str(source)}


def delete_table(target: Target, name: str) -> None:
    """Delete one table (its deletion protection switched off first) and wait until it is gone."""
    client = target.client("dynamodb")
    described = client.describe_table(TableName=name)["Table"]
    if described.get("DeletionProtectionEnabled"):
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
    client.delete_table(TableName=name)
    wait_for(
        target, lambda: (name not in existing_tables(target, [name]), None), f"table {name} to be deleted"
    )


def undo_emulated(target: Target, stack: str) -> list[str]:
    """Before deleting a stack on the emulator, remove what ``apply_emulated`` created."""
    body = target.client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    from infrastructure.deploy import META, Resolver

    meta = template.get("Metadata", {}).get(META)
    if not meta:
        return []
    resolver = Resolver(target, stack, template, {})
    removed, alarms = [], []
    for logical, resource in meta["apply"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            alarms.append(resource["Properties"]["AlarmName"])
        elif resource["Type"] == "AWS::SNS::Subscription":
            props = resolver.resolve({k: resource["Properties"][k] for k in ("TopicArn", "Endpoint")})
            sns = target.client("sns")
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=props["TopicArn"]):
                for sub in page["Subscriptions"]:
                    if sub["Endpoint"] == props["Endpoint"] and sub["SubscriptionArn"].startswith("arn:"):
                        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        removed.append(logical)
    for start in range(0, len(alarms), 100):
        target.client("cloudwatch").delete_alarms(AlarmNames=alarms[start : start + 100])
    return removed
