"""DynamoDB helpers shared by every store module.

- ``to_item`` / ``from_item``: plain Python <-> DynamoDB AttributeValue maps (ints stay ints).
- ``translate``: a ``ClientError`` or connection failure -> the API error it means
  (conditional failure -> 409 conflict, throttling or a failing dependency -> 503).
- ``encode_cursor`` / ``decode_cursor`` / ``query_page``: the cursor pagination of API.md.
  Cursors are opaque (encrypted) and authenticated together with the route and caller they
  were issued to, so a client can neither read them, make its own, nor use one elsewhere.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import json
import os
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from campaign_shared.errors import ApiError, Conflict, InvalidRequest, ServiceUnavailable

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
        "Throttling",
        "TransactionInProgressException",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalError",
    }
)

# ---- conversion -----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def to_value(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A plain dict -> an AttributeValue map; ``None`` values are left out."""
    return {k: to_value(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def values(**kwargs: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: ``values(n=1)`` -> ``{":n": {"N": "1"}}``."""
    return {f":{k}": to_value(v) for k, v in kwargs.items()}


# ---- errors ---------------------------------------------------------------------


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def is_conditional_failure(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def cancellation_reasons(exc: BaseException) -> list[str]:
    """Per-item codes of a cancelled TransactWriteItems ("None" where the item was fine)."""
    response = getattr(exc, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]


def put_new(table: str, item: dict[str, Any], key_attribute: str = "pk") -> bool:
    """Put an AttributeValue item unless one with its key exists; False when it did.

    Where the key is new for this request (a fresh id), False after a retried call means the
    request's own earlier attempt committed (its answer was lost): callers treat it as done."""
    try:
        from campaign_shared import aws

        aws.dynamodb().put_item(
            TableName=table, Item=item, ConditionExpression=f"attribute_not_exists({key_attribute})"
        )
        return True
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise


def translate(exc: BaseException) -> ApiError | None:
    """The API error a storage failure means, or ``None`` when it is not a storage failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = error_code(exc) or ""
        if code == "ConditionalCheckFailedException":
            return Conflict("the resource changed; retry the request", code="conflict")
        if code == "TransactionCanceledException":
            reasons = cancellation_reasons(exc)
            if any(r in RETRYABLE_CODES or r == "TransactionConflict" for r in reasons):
                return ServiceUnavailable("storage is busy; retry shortly")
            return Conflict("the resource changed; retry the request", code="conflict")
        if code in RETRYABLE_CODES or "Throttl" in code:
            return ServiceUnavailable("a dependency is busy; retry shortly")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        if status >= 500:
            return ServiceUnavailable("a dependency failed; retry shortly")
        return None
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailable("a dependency could not be reached; retry shortly")
    return None


# ---- pagination ------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(BaseModel):
    """``?limit=`` (1..200, default 50) and ``?cursor=``."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=2048)


_cursor_scope: contextvars.ContextVar[str] = contextvars.ContextVar("cursor_scope", default="")


def bind_cursors(service: str, method: str, path: str, shop: str, sub: str) -> None:
    """Bind the cursors of the current request to its route and caller (the route layer calls
    this for every request): a cursor is accepted only by the same route of the same caller."""
    _cursor_scope.set(json.dumps([service, method, path, shop, sub]))


def _cursor_keys() -> tuple[bytes, bytes]:
    from campaign_shared.settings import get_settings

    secret = get_settings().jwt_secret.encode()
    return (
        hashlib.sha256(b"cursor-enc:" + secret).digest(),
        hashlib.sha256(b"cursor-mac:" + secret).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(key, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest() for n in range(blocks)
    )[:length]


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    """An opaque cursor: the key encrypted (HMAC-SHA256 keystream) and authenticated together
    with the route and caller it was issued to (encrypt-then-MAC)."""
    if not last_key:
        return None
    enc, mac = _cursor_keys()
    payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    sealed = bytes(a ^ b for a, b in zip(payload, _keystream(enc, nonce, len(payload)), strict=True))
    scope = _cursor_scope.get().encode()
    tag = hmac.new(mac, scope + b"\0" + nonce + sealed, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(nonce + tag + sealed).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
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
        key = json.loads(payload)
        if not isinstance(key, dict):
            raise ValueError("not a key")
        return key
    except (ValueError, TypeError):
        raise InvalidRequest(
            "invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid"}]
        ) from None


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
    from campaign_shared import aws

    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": expression_values,
        "Limit": page.limit,
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
