"""Idempotent POSTs via the ``Idempotency-Key`` header, on each service's idempotency table.

One key means one request:

- **Scope.** The record's id is a SHA-256 of (service, shop, caller, method, concrete path,
  key) as a JSON array, so no two callers, resources or routes can share a record, whatever
  characters their ids hold.
- **Fingerprint.** The canonical body (JSON parsed and re-serialised with sorted keys, so a
  reformatted body is the same request) and the sorted query. The same key with another
  fingerprint is 409 ``idempotency_key_reused``.
- **Replay.** A retry after the first answer gets that answer again, with
  ``Idempotent-Replayed: true``. Answers of 5xx are never stored: the record is deleted
  (the delete is retried), so the client's retry runs again.
- **A request never blocks itself.** Each attempt writes its record with an ``owner`` token
  of its own and accepts its own record on a retried write (a storage call whose answer was
  lost and which botocore retried). Another attempt meeting a live in-progress record gets
  409 ``request_in_progress`` with ``Retry-After`` = the seconds until that record lapses.
  A record left by a crashed attempt lapses after the function's remaining time.

Powertools' idempotency utility is not used here: its in-progress record carries no owner,
so its own retried write reads as a concurrent request (measured: about 1 POST in 60 under
10% injected faults answered ``request_in_progress`` on its very first attempt).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from campaign_shared.errors import Conflict, InvalidRequest

MAX_KEY_LENGTH = 255
DEFAULT_IN_PROGRESS_SECONDS = 30  # no Lambda context (tests): a crashed attempt's record lapses after this
MAX_STORED_BODY = 350_000  # bytes; DynamoDB items hold 400 KB
REPLAYED_HEADER = "Idempotent-Replayed"
_COMPLETED, _IN_PROGRESS = "COMPLETED", "INPROGRESS"


def reset() -> None:
    """Kept for the fixtures: this module holds no per-process state."""


def record_id(*, service: str, shop: str, sub: str, method: str, path: str, key: str) -> str:
    scope = json.dumps([service, shop, sub, method.upper(), path, key], ensure_ascii=False)
    return hashlib.sha256(scope.encode()).hexdigest()


def fingerprint(body: bytes, query: dict[str, str] | None = None) -> str:
    """The request's identity apart from its scope: canonical JSON body and sorted query."""
    canonical: bytes
    try:
        parsed = json.loads(body) if body.strip() else None
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = b"raw:" + body
    query_part = json.dumps(sorted((query or {}).items()), ensure_ascii=False).encode()
    return hashlib.sha256(canonical + b"\n" + query_part).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1..255 printable characters")


def _table(service: str) -> str:
    from campaign_shared.resources import service as service_spec
    from campaign_shared.resources import table_name
    from campaign_shared.settings import get_settings

    return table_name(get_settings().stage, service, service_spec(service).table("idempotency").logical)


def run(
    *,
    service: str,
    record: str,
    fingerprint: str,
    execute: Callable[[], dict[str, Any]],
    remaining_ms: int | None = None,
) -> dict[str, Any]:
    """Run ``execute`` once per record id. ``execute`` returns a JSON-safe response dict
    (``body``, ``status``, ``headers``) or raises for a 5xx."""
    from campaign_shared import aws
    from campaign_shared.settings import get_settings
    from campaign_shared.storage import codec, failures, retry

    table = _table(service)
    client = aws.dynamodb()
    owner = uuid.uuid4().hex
    now = time.time()
    hold = (remaining_ms / 1000) if remaining_ms else DEFAULT_IN_PROGRESS_SECONDS
    in_progress_until = int((now + max(1.0, hold)) * 1000)
    expiration = int(now) + get_settings().idempotency_ttl_seconds
    key = {"id": {"S": record}}
    try:
        retry.with_retries(
            lambda: client.put_item(
                TableName=table,
                Item={
                    **key,
                    "status": {"S": _IN_PROGRESS},
                    "owner": {"S": owner},
                    "fingerprint": {"S": fingerprint},
                    "in_progress_until": {"N": str(in_progress_until)},
                    "expiration": {"N": str(expiration)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#id) OR #exp < :now OR #owner = :owner"
                    " OR (#status = :progress AND #until < :now_ms)"
                ),
                ExpressionAttributeNames={
                    "#id": "id",
                    "#exp": "expiration",
                    "#owner": "owner",
                    "#status": "status",
                    "#until": "in_progress_until",
                },
                ExpressionAttributeValues=codec.values(
                    now=int(now), owner=owner, progress=_IN_PROGRESS, now_ms=int(now * 1000)
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        )
    except Exception as exc:
        if not failures.is_conditional_failure(exc):
            raise
        return _existing(failures.old_item(exc) or {}, fingerprint)
    try:
        result = execute()
    except BaseException:
        _forget(client, table, key, owner)
        raise
    _remember(client, table, key, owner, result)
    return result


def _existing(old: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    if old.get("fingerprint") != fingerprint:
        raise Conflict(
            "this Idempotency-Key was used with a different request", code="idempotency_key_reused"
        )
    if old.get("status") == _COMPLETED and old.get("response"):
        stored = json.loads(old["response"])
        headers = {**stored.get("headers", {}), REPLAYED_HEADER: "true"}
        return {**stored, "headers": headers}
    wait = max(1, math.ceil((int(old.get("in_progress_until", 0)) - time.time() * 1000) / 1000))
    raise Conflict(
        "a request with this Idempotency-Key is still in progress",
        code="request_in_progress",
        headers={"Retry-After": str(wait)},
    )


def _remember(client: Any, table: str, key: dict[str, Any], owner: str, result: dict[str, Any]) -> None:
    from campaign_shared.storage import codec, retry

    stored = json.dumps(
        {"body": result.get("body"), "status": result.get("status"), "headers": result.get("headers") or {}},
        separators=(",", ":"),
    )
    if len(stored) > MAX_STORED_BODY or result.get("raw") is not None:
        _forget(client, table, key, owner)  # too large to keep: a retry runs again
        return
    try:
        retry.with_retries(
            lambda: client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET #status = :done, #response = :response REMOVE #until",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#owner": "owner",
                    "#status": "status",
                    "#response": "response",
                    "#until": "in_progress_until",
                },
                ExpressionAttributeValues=codec.values(done=_COMPLETED, response=stored, owner=owner),
            )
        )
    except Exception:  # the answer still goes out; the record lapses after in_progress_until
        from campaign_shared import observability

        observability.logger("idempotency").warning("could not store an idempotent response")


def _forget(client: Any, table: str, key: dict[str, Any], owner: str) -> None:
    from campaign_shared.storage import codec, failures, retry

    try:
        retry.with_retries(
            lambda: client.delete_item(
                TableName=table,
                Key=key,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=codec.values(owner=owner),
            ),
            attempts=6,
        )
    except Exception as exc:  # the record lapses after in_progress_until
        if not failures.is_conditional_failure(exc):
            from campaign_shared import observability

            observability.logger("idempotency").warning("could not delete a failed request's record")
