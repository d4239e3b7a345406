"""Keep a developer's local data across restarts: tables are saved to JSON lines on stop and
loaded back on start. ``make reset`` removes the folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infrastructure.provision import stage_tables


def save(dynamodb: Any, stage: str, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for table in stage_tables(stage):
        path = folder / f"{table}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        count = 0
        with tmp.open("w") as out:
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page.get("Items", []):
                    out.write(json.dumps(item, separators=(",", ":")) + "\n")
                    count += 1
        tmp.replace(path)
        counts[table] = count
    return counts


def restore(dynamodb: Any, stage: str, folder: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not folder.is_dir():
        return counts
    for table in stage_tables(stage):
        path = folder / f"{table}.jsonl"
        if not path.exists():
            continue
        batch: list[dict[str, Any]] = []
        count = 0
        with path.open() as lines:
            for line in lines:
                if line.strip():
                    batch.append({"PutRequest": {"Item": json.loads(line)}})
                    count += 1
                if len(batch) == 25:
                    _write(dynamodb, table, batch)
                    batch = []
        if batch:
            _write(dynamodb, table, batch)
        counts[table] = count
    return counts


def _write(dynamodb: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending = {table: batch}
    while pending:
        response = dynamodb.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or {}
