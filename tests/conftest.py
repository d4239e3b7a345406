"""Fixtures shared by every layer of tests.

- ``aws``: an in-process moto (``mock_aws``) with every resource of the one definition.
- ``gateway``: the local gateway's routing, called in-process (no sockets) over ``aws``.
- ``drain``: runs queued messages through a service's consumer, as the event source would.
- ``token`` / ``auth``: JWTs for any role, shop and subject.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Property tests check rules, not speed: no per-example deadline (a loaded CI machine would
# turn hypothesis' 200 ms default into flaky failures). Speed is measured in bench/.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("campaign", deadline=None)
    _hypothesis_settings.load_profile("campaign")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass

SECRET = "test-secret-0123456789"
STAGE = "test"


def make_token(role: str = "customer", shop: str = "s1", sub: str = "u1", ttl: int = 3600) -> str:
    from campaign_shared.auth import mint

    return mint(role=role, shop=shop, sub=sub, secret=SECRET, ttl_seconds=ttl)


@pytest.fixture
def token():
    return make_token


@pytest.fixture
def auth():
    def headers(role: str = "customer", shop: str = "s1", sub: str = "u1", **extra: str) -> dict[str, str]:
        return {
            "authorization": f"Bearer {make_token(role, shop, sub)}",
            "content-type": "application/json",
            **extra,
        }

    return headers


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    from campaign_shared import idempotency, messaging
    from campaign_shared.settings import Settings, configure
    from infrastructure.provision import provision

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(var, "testing")
    with mock_aws():
        configure(Settings(stage=STAGE, jwt_secret=SECRET, public_base_url="http://gateway.test"))
        idempotency.reset()
        messaging.reset()
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "sns")}
        resources = provision(STAGE, clients["dynamodb"], clients["sqs"], clients["sns"])
        yield {"resources": resources, **clients}
        configure(None)
        idempotency.reset()
        messaging.reset()


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {self.content[:300]!r}>"


class GatewayClient:
    """The local gateway's routing and Chalice's LocalGateway, called without sockets."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        raw = body if body is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        status, out_headers, data = self.gateway.dispatch(
            method, path, {k.lower(): v for k, v in (headers or {}).items()}, raw
        )
        return Response(status, out_headers, data)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body=json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def gateway(aws) -> GatewayClient:
    from infrastructure.dev.apps import SERVICE_NAMES, load_app
    from infrastructure.dev.openapi import document
    from infrastructure.local.gateway import Gateway, Mount

    modules = {name: load_app(name) for name in SERVICE_NAMES}
    mounts = {name: Mount(name, module) for name, module in modules.items()}
    doc = document([(name, m.api.docs) for name, m in modules.items()])
    return GatewayClient(Gateway(mounts, doc))


@pytest.fixture
def drain(aws):
    """``drain("coupons")`` delivers every queued message of the coupons service's queues (its
    main queue and its bulk-issue queue) to their consumers until they are empty; failed
    messages are retried immediately, up to ``rounds`` polls per queue and pass.
    ``drain("coupons:main")`` or ``drain("coupons:bulk")`` drains one queue only. No name:
    every queue of every service. Stats are keyed like ``resources["queues"]``
    (``coupons``, ``coupons-bulk``, ...)."""
    from campaign_shared.resources import SERVICES, queue_key
    from campaign_shared.resources import service as service_spec
    from infrastructure.dev.apps import load_app
    from infrastructure.local.poller import QueuePoller

    def pollers(names: tuple[str, ...]) -> list[QueuePoller]:
        found = []
        for name in names or tuple(s for s, spec in SERVICES.items() if spec.queues):
            service, _, only = name.partition(":")
            spec = service_spec(service)
            for queue_spec in spec.queues if not only else (spec.queue(only),):
                key = queue_key(service, queue_spec.logical)
                queue = aws["resources"]["queues"][key]
                found.append(
                    QueuePoller(
                        name=key,
                        sqs=aws["sqs"],
                        queue_url=queue["url"],
                        queue_arn=queue["arn"],
                        handler=getattr(load_app(service), queue_spec.consumer),
                        batch_size=queue_spec.batch_size,
                        retry_after_seconds=0,
                    )
                )
        return found

    def run(*names: str, rounds: int = 50) -> dict[str, dict[str, int]]:
        chosen = pollers(names)
        for _ in range(10):  # passes: a service's consumers may queue messages for one another
            busy = False
            for poller in chosen:
                for _ in range(rounds):
                    if not poller.poll_once():
                        break
                    busy = True
            if not busy:
                break
        return {p.name: p.stats for p in chosen}

    return run
