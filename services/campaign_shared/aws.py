"""boto3 clients built lazily from settings, one per service name per process.

boto3 clients are thread-safe; resources are not, so only clients are used. Each
DynamoDB client carries the request-unit accounting hook (``capacity``).
"""

from __future__ import annotations

import threading
from typing import Any

from campaign_shared import settings

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def client(service_name: str) -> Any:
    cached = _clients.get(service_name)
    if cached is not None:
        return cached
    with _lock:
        cached = _clients.get(service_name)
        if cached is None:
            cached = _build(service_name)
            _clients[service_name] = cached
    return cached


def _build(service_name: str) -> Any:
    import boto3
    from botocore.config import Config

    current = settings.get_settings()
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=10,
        max_pool_connections=64,
    )
    kwargs: dict[str, Any] = {"region_name": current.region, "config": config}
    if current.aws_endpoint_url:
        kwargs["endpoint_url"] = current.aws_endpoint_url
        kwargs.setdefault("aws_access_key_id", "testing")
        kwargs.setdefault("aws_secret_access_key", "testing")
    made = boto3.session.Session().client(service_name, **kwargs)
    if service_name == "dynamodb":
        from campaign_shared import capacity

        capacity.install(made)
    return made


def reset_clients() -> None:
    with _lock:
        _clients.clear()


settings.on_configure(reset_clients)  # new settings (endpoint, region) mean new clients


def dynamodb() -> Any:
    return client("dynamodb")


def sqs() -> Any:
    return client("sqs")


def sns() -> Any:
    return client("sns")
