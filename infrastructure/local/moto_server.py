"""An embedded moto server whose storage requests are serialized.

moto is not concurrency-safe (DESIGN.md): a condition check and its write are not atomic
across its request threads. Each request here runs under a lock, so what is atomic in
DynamoDB is atomic locally too. DynamoDB has one lock; SQS and SNS share another (SNS
delivers into SQS), so queue polling never waits behind table writes.

A fault injector (``faults``) can make a share of calls fail like AWS does under stress.

With a journal (``persistence.Durability``), each call's effects are appended to it under
the same lock, before the call is answered: what was answered survives a ``kill -9``.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
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

    def __init__(self, app: Callable[..., Iterable[bytes]], faults: Any = None, journal: Any = None) -> None:
        self._app = app
        self._locks = {"dynamodb": threading.Lock(), "messaging": threading.Lock()}
        self.faults = faults
        self.journal = journal  # a journal.Store, or None: nothing is kept
        self.requests = 0

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Hold every storage lock: no call runs meanwhile (journal rotation, loading)."""
        with self._locks["dynamodb"], self._locks["messaging"]:
            yield

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
            journal = self.journal
            if journal is None:
                return [self._run(environ, start_response)]
            body = self._journalled(journal, environ, start_response)
        if journal.wants_compaction():
            journal.request_compaction()
        return body

    def _run(self, environ: dict[str, Any], start_response: StartResponse) -> bytes:
        result = self._app(environ, start_response)
        try:
            return b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _journalled(
        self, journal: Any, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        from infrastructure.local.capture import capturing

        statuses: list[str] = []

        def remember(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        with capturing() as captured:
            try:
                body = self._run(environ, remember)
            except BaseException:  # moto failed midway: keep whatever it did change
                ops = captured.effects()
                if ops:
                    journal.append(ops)
                raise
        failed = bool(statuses) and not statuses[-1].startswith("2")
        # A failed condition or a cancelled transaction changed no item (moto checks before
        # writing and restores the tables of a cancelled transaction).
        unchanged = failed and (b"ConditionalCheckFailed" in body or b"TransactionCanceled" in body)
        ops = captured.effects(items=not unchanged)
        if ops:
            try:
                journal.append(ops)
            except Exception as exc:  # not kept, so not acknowledged: the client retries
                error = json.dumps({"__type": "InternalFailure", "message": f"journal: {exc}"}).encode()
                start_response(
                    "500 Internal Server Error",
                    [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(error)))],
                    sys.exc_info(),
                )
                return [error]
        return [body]


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
