"""An embedded moto server whose storage requests are serialized.

moto is not concurrency-safe (DESIGN.md): a condition check and its write are not atomic
across its request threads. Each request here runs under a lock, so what is atomic in
DynamoDB is atomic locally too. DynamoDB has one lock; SQS and SNS share another (SNS
delivers into SQS), so queue polling never waits behind table writes.

A fault injector (``faults``) can make a share of calls fail like AWS does under stress.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([a-z0-9-]+)/aws4_request")

StartResponse = Callable[..., Any]


def request_service(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB"):
        return "dynamodb"
    return "other"


class SerializedApp:
    """WSGI middleware: one request at a time per storage family."""

    def __init__(self, app: Callable[..., Iterable[bytes]], faults: Any = None) -> None:
        self._app = app
        self._locks = {"dynamodb": threading.Lock(), "messaging": threading.Lock()}
        self.faults = faults
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        service = request_service(environ)
        if self.faults is not None:
            return list(
                self.faults.maybe_fail(
                    service, environ, start_response, lambda: self._serve(service, environ, start_response)
                )
            )
        return self._serve(service, environ, start_response)

    def _serve(self, service: str, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        lock = self._locks["dynamodb" if service == "dynamodb" else "messaging"]
        with lock:
            self.requests += 1
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class EmbeddedMoto:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, faults: Any = None) -> None:
        self.host = host
        self.port = port
        self.faults = faults
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app: SerializedApp | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedMoto:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return

        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app), self.faults)
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
