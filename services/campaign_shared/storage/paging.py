"""Reading many items: page parameters, opaque cursors, one page of a query, every page of a
query, and batched reads and writes (unprocessed keys retried with backoff).

Cursors are opaque (encrypted) and authenticated together with the route and caller they were
issued to (``bind_cursors``, called by the route layer for every request), so a client can
neither read one, make its own, nor use one elsewhere.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from campaign_shared import aws
from campaign_shared.errors import InvalidRequest
from campaign_shared.storage import retry
from campaign_shared.storage.codec import from_item, to_item
from campaign_shared.types import Query

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
BATCH_ATTEMPTS = 8


class PageParams(Query):
    """``?limit=`` (1..200, default 50) and ``?cursor=``."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=2048)


# ---- cursors -----------------------------------------------------------------------------

_cursor_scope: contextvars.ContextVar[str] = contextvars.ContextVar("cursor_scope", default="")


def bind_cursors(service: str, method: str, path: str, shop: str, sub: str) -> None:
    """Bind the cursors of the current request to its route and caller: a cursor is accepted
    only by the same route of the same caller."""
    _cursor_scope.set(json.dumps([service, method, path, shop, sub]))


def _cursor_keys() -> tuple[bytes, bytes]:
    from campaign_shared.errors import ServiceUnavailable
    from campaign_shared.secrets import jwt_secret

    try:
        secret = jwt_secret().encode()
    except Exception:  # Secrets Manager unreachable: the caller may retry
        raise ServiceUnavailable("cursors cannot be read or made now; retry shortly") from None
    return (
        hashlib.sha256(b"cursor-enc:" + secret).digest(),
        hashlib.sha256(b"cursor-mac:" + secret).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(key, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest() for n in range(blocks)
    )[:length]


def encode_cursor(position: dict[str, Any] | None) -> str | None:
    """An opaque cursor for ``position`` (a last key, or any small JSON object): encrypted with
    an HMAC-SHA256 keystream and authenticated with the route and caller (encrypt-then-MAC)."""
    if not position:
        return None
    enc, mac = _cursor_keys()
    payload = json.dumps(position, sort_keys=True, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    sealed = bytes(a ^ b for a, b in zip(payload, _keystream(enc, nonce, len(payload)), strict=True))
    scope = _cursor_scope.get().encode()
    tag = hmac.new(mac, scope + b"\0" + nonce + sealed, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(nonce + tag + sealed).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor of this route and caller holds; 400 ``invalid cursor`` otherwise."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        nonce, tag, sealed = raw[:12], raw[12:28], raw[28:]
        if len(tag) != 16 or not sealed:
            raise ValueError("short")
        enc, mac = _cursor_keys()
        scope = _cursor_scope.get().encode()
        expected = hmac.new(mac, scope + b"\0" + nonce + sealed, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(tag, expected):
            raise ValueError("bad signature")
        payload = bytes(a ^ b for a, b in zip(sealed, _keystream(enc, nonce, len(sealed)), strict=True))
        position = json.loads(payload)
        if not isinstance(position, dict):
            raise ValueError("not a position")
        return position
    except (ValueError, TypeError):
        raise InvalidRequest(
            "invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid"}]
        ) from None


# ---- queries -----------------------------------------------------------------------------


def _query_params(
    table: str,
    key_condition: str,
    expression_values: dict[str, Any],
    *,
    index: str | None,
    forward: bool,
    filter_expression: str | None,
    expression_names: dict[str, str] | None,
    consistent: bool,
    projection: str | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": expression_values,
        "ScanIndexForward": forward,
    }
    if index:
        params["IndexName"] = index
    elif consistent:
        params["ConsistentRead"] = True
    if filter_expression:
        params["FilterExpression"] = filter_expression
    if expression_names:
        params["ExpressionAttributeNames"] = expression_names
    if projection:
        params["ProjectionExpression"] = projection
    return params


def query_page(
    *,
    table: str,
    key_condition: str,
    expression_values: dict[str, Any],
    page: PageParams,
    index: str | None = None,
    forward: bool = True,
    filter_expression: str | None = None,
    expression_names: dict[str, str] | None = None,
    consistent: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a Query as plain dicts, with the cursor of the next page (or None)."""
    params = _query_params(
        table,
        key_condition,
        expression_values,
        index=index,
        forward=forward,
        filter_expression=filter_expression,
        expression_names=expression_names,
        consistent=consistent,
    )
    params["Limit"] = page.limit
    start = decode_cursor(page.cursor)
    if start:
        params["ExclusiveStartKey"] = start
    items: list[dict[str, Any]] = []
    while True:
        response = aws.dynamodb().query(**params)
        items.extend(from_item(i) or {} for i in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or len(items) >= page.limit or not filter_expression:
            break
        params["ExclusiveStartKey"] = last
        params["Limit"] = page.limit - len(items)
    return items, encode_cursor(last)


def query_all(
    *,
    table: str,
    key_condition: str,
    expression_values: dict[str, Any],
    index: str | None = None,
    forward: bool = True,
    filter_expression: str | None = None,
    expression_names: dict[str, str] | None = None,
    consistent: bool = False,
    projection: str | None = None,
    page_size: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, as plain dicts, reading page after page."""
    params = _query_params(
        table,
        key_condition,
        expression_values,
        index=index,
        forward=forward,
        filter_expression=filter_expression,
        expression_names=expression_names,
        consistent=consistent,
        projection=projection,
    )
    if page_size:
        params["Limit"] = page_size
    while True:
        response = aws.dynamodb().query(**params)
        for item in response.get("Items", []):
            yield from_item(item) or {}
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        params["ExclusiveStartKey"] = last


def query_count(
    *,
    table: str,
    key_condition: str,
    expression_values: dict[str, Any],
    index: str | None = None,
    expression_names: dict[str, str] | None = None,
) -> int:
    """How many items a Query matches (``Select=COUNT``: no item travels; each page still
    reads up to 1 MB of the index, so the cost grows with the count)."""
    params = _query_params(
        table,
        key_condition,
        expression_values,
        index=index,
        forward=True,
        filter_expression=None,
        expression_names=expression_names,
        consistent=False,
    )
    params["Select"] = "COUNT"
    total = 0
    while True:
        response = aws.dynamodb().query(**params)
        total += int(response.get("Count", 0))
        last = response.get("LastEvaluatedKey")
        if not last:
            return total
        params["ExclusiveStartKey"] = last


# ---- batches -----------------------------------------------------------------------------


BUSY = "storage is busy; retry shortly"


def batch_get(table: str, keys: list[dict[str, Any]], *, consistent: bool = True) -> list[dict[str, Any]]:
    """The items of ``keys`` (plain dicts) that exist, in any order: 100 keys per call,
    unprocessed keys retried with backoff; 503 when they keep coming back."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table: {"Keys": [to_item(k) for k in keys[start : start + 100]], "ConsistentRead": consistent}
        }
        for _ in retry.attempts(BATCH_ATTEMPTS, busy=BUSY, base=0.05):
            response = aws.dynamodb().batch_get_item(RequestItems=request)
            found.extend(from_item(i) or {} for i in response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    return found


def batch_put(table: str, items: list[dict[str, Any]]) -> None:
    """Unconditional puts of plain dicts, 25 per call, unprocessed items retried with backoff;
    503 when they keep coming back."""
    _write_batches(table, [{"PutRequest": {"Item": to_item(i)}} for i in items])


def batch_delete(table: str, keys: list[dict[str, Any]]) -> None:
    """Deletes of ``keys`` (plain dicts), 25 per call, unprocessed keys retried with backoff;
    503 when they keep coming back."""
    _write_batches(table, [{"DeleteRequest": {"Key": to_item(k)}} for k in keys])


def _write_batches(table: str, requests: list[dict[str, Any]]) -> None:
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        for _ in retry.attempts(BATCH_ATTEMPTS, busy=BUSY, base=0.05):
            pending = aws.dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
