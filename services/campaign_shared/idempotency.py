"""Idempotent POSTs via the ``Idempotency-Key`` header (Powertools idempotency, DynamoDB).

The record key is the shop, caller, route and header key; the payload hash is the method,
path and body. A retry with the same key and body returns the stored first response; the
same key with another body is 409 ``idempotency_key_reused``; a retry while the first is
still running is 409 ``request_in_progress`` with ``Retry-After``. Responses of 5xx are
not stored, so a retry after a failure runs again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from campaign_shared.errors import Conflict, InvalidRequest

_lock = threading.Lock()
_layers: dict[str, Any] = {}

MAX_KEY_LENGTH = 255


def _persistence(service: str) -> Any:
    from campaign_shared import aws
    from campaign_shared.resources import service as service_spec
    from campaign_shared.resources import table_name
    from campaign_shared.settings import get_settings

    settings = get_settings()
    cache_key = f"{settings.stage}/{service}"
    layer = _layers.get(cache_key)
    if layer is None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        spec = service_spec(service).table("idempotency")
        with _lock:
            layer = _layers.get(cache_key)
            if layer is None:
                layer = DynamoDBPersistenceLayer(
                    table_name=table_name(settings.stage, service, spec.logical),
                    key_attr=spec.pk,
                    expiry_attr=spec.ttl_attribute or "expiration",
                    boto3_client=aws.dynamodb(),
                )
                _layers[cache_key] = layer
    return layer


def reset() -> None:
    with _lock:
        _layers.clear()


def run(
    *,
    service: str,
    scope: str,
    key: str,
    fingerprint: bytes,
    execute: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run ``execute`` once per (scope, key); ``execute`` returns a JSON-safe response dict."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from campaign_shared.settings import get_settings

    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1..255 printable characters")
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        hash_function="sha256",
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=_persistence(service), config=config
    )
    def idempotent_request(request: dict[str, Any]) -> dict[str, Any]:
        return execute()

    request = {"key": f"{scope}#{key}", "payload": hashlib.sha256(fingerprint).hexdigest()}
    try:
        return idempotent_request(request=request)
    except IdempotencyValidationError:
        raise Conflict(
            "this Idempotency-Key was used with a different request", code="idempotency_key_reused"
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "a request with this Idempotency-Key is still in progress",
            code="request_in_progress",
            headers={"Retry-After": "1"},
        ) from None
