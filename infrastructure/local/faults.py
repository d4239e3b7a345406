"""Fault injection for the embedded AWS: a chosen share of DynamoDB, SQS and SNS calls fail as
AWS fails under stress: throttling, 500s, or a dropped connection (before or after the call
took effect, so clients meet the ambiguous case too).

    CAMPAIGN_FAULT_RATE=0.1 make run          # 10% of storage and messaging calls fail
    LocalStack(faults=FaultInjector(rate=0.1, seed=7))
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

KINDS = ("throttle", "error", "drop_before", "drop_after")
SERVICES = ("dynamodb", "sqs", "sns")


class FaultInjector:
    def __init__(
        self,
        rate: float = 0.0,
        kinds: tuple[str, ...] = KINDS,
        services: tuple[str, ...] = SERVICES,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.rate = rate
        self.kinds = kinds
        self.services = services
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    @classmethod
    def from_env(cls, env: dict[str, str]) -> FaultInjector | None:
        rate = float(env.get("CAMPAIGN_FAULT_RATE") or 0)
        if rate <= 0:
            return None
        kinds = tuple(k for k in (env.get("CAMPAIGN_FAULT_KINDS") or ",".join(KINDS)).split(",") if k)
        return cls(rate=rate, kinds=kinds)

    def _draw(self, service: str) -> str | None:
        with self._lock:
            self.calls[service] += 1
            if service not in self.services or self.rate <= 0 or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[f"{service}:{kind}"] += 1
            return kind

    def maybe_fail(
        self,
        service: str,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        call: Callable[[], list[bytes]],
    ) -> list[bytes]:
        """Run ``call`` (the real request) or fail it; returns the WSGI body."""
        kind = self._draw(service)
        if kind is None:
            return call()
        if kind == "drop_after":
            call()  # the write happened; the client never hears of it
            return _drop(environ, start_response)
        if kind == "drop_before":
            return _drop(environ, start_response)
        status, headers, body = _error_response(service, kind)
        start_response(status, headers)
        return [body]


def _drop(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    try:
        start_response("500 Internal Server Error", [("Content-Length", "0")])
    except AssertionError:  # drop_after: the real call already started the response
        pass
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return []


def _error_response(service: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    throttle = kind == "throttle"
    if service == "dynamodb":
        code = "ThrottlingException" if throttle else "InternalServerError"
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"})
        status = "400 Bad Request" if throttle else "500 Internal Server Error"
        return status, [("Content-Type", "application/x-amz-json-1.0")], body.encode()
    if service == "sqs":
        code = "RequestThrottled" if throttle else "InternalError"
        body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": "injected fault"})
        status = "400 Bad Request" if throttle else "500 Internal Server Error"
        return (
            status,
            [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", f"{code};Sender")],
            body.encode(),
        )
    code = "Throttling" if throttle else "InternalError"
    body = (
        f"<ErrorResponse><Error><Type>{'Sender' if throttle else 'Receiver'}</Type><Code>{code}</Code>"
        "<Message>injected fault</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
    )
    status = "400 Bad Request" if throttle else "500 Internal Server Error"
    return status, [("Content-Type", "text/xml")], body.encode()
