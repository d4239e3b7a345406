"""One HTTP gateway for every service, as API Gateway base-path mappings would route it.

``/coupons/...`` goes to the coupons app with the prefix removed, and so on. Each app is
invoked through Chalice's ``LocalGateway`` (Lambda proxy events, route matching) with a
per-thread ``current_request``, so concurrent requests never see each other's request.
Unknown routes are 404 and oversized bodies 413, in the error envelope of API.md.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.local import LocalGateway

from campaign_shared.api import MAX_BODY_BYTES
from campaign_shared.errors import envelope


def _local_app_class(app: Any) -> None:
    """Give ``app`` a per-thread ``current_request`` of its own (what ``chalice local`` does)."""
    from chalice.local import LocalChalice

    if isinstance(app, LocalChalice):
        return
    cls = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {"_THREAD_LOCAL": threading.local()})
    app.__class__ = cls


class ForwardingOptions(LocalGateway):
    """``OPTIONS`` goes to the app, as the deployed API forwards it (every path has an
    ``OPTIONS`` proxy method): the route layer answers preflights (``campaign_shared.cors``)
    from the same settings here and on AWS, instead of chalice local's own CORS answer."""

    def _has_user_defined_options_method(self, lambda_event: Any) -> bool:
        return True


class Mount:
    def __init__(self, prefix: str, module: Any) -> None:
        from chalice.config import Config

        self.prefix = prefix
        self.module = module
        self.app = module.app
        _local_app_class(self.app)
        config = Config.create(chalice_stage="dev", app_name=self.app.app_name, lambda_timeout=30)
        self.gateway = ForwardingOptions(self.app, config)


class Gateway:
    def __init__(
        self,
        mounts: dict[str, Mount],
        openapi: dict[str, Any],
        host: str = "127.0.0.1",
        port: int = 8000,
        status: Any = None,
    ):
        self.mounts = mounts
        self.status = status  # () -> dict for GET /_local/status (queues, DLQs, schedules)
        self.openapi_body = json.dumps(openapi).encode()
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Gateway:
        gateway = self

        class Handler(_Handler):
            owner = gateway

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # the listen() backlog is read in the constructor

        server = Server((self.host, self.port), Handler)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- dispatch -----------------------------------------------------------------

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict, bytes]:
        path = target.split("?", 1)[0]
        if path == "/openapi.json" and method == "GET":
            return 200, {"Content-Type": "application/json"}, self.openapi_body
        if (path == "/docs" or path.startswith("/docs/")) and method == "GET":
            from campaign_shared import docs

            found = docs.answer(
                path.removeprefix("/docs").lstrip("/"),
                "/docs/",
                docs.installed_assets(),
                self.openapi_body,
                openapi_url="/openapi.json",
            )
            if found is not None:
                return found
        if path == "/_local/status" and method == "GET" and self.status is not None:
            return 200, {"Content-Type": "application/json"}, json.dumps(self.status()).encode()
        parts = path.split("/", 2)
        mount = self.mounts.get(parts[1]) if len(parts) > 1 else None
        if mount is None:
            return _with_cors(_error(404, "not_found", f"no route for {method} {path}"), headers)
        inner = target[len(parts[1]) + 1 :] or "/"
        if not inner.startswith("/"):
            inner = "/" + inner
        return self._invoke(mount, method, inner, headers, body)

    def _invoke(
        self, mount: Mount, method: str, target: str, headers: dict, body: bytes | None
    ) -> tuple[int, dict, bytes]:
        from chalice.local import ForbiddenError, LocalGatewayException, NotAuthorizedError

        try:
            response = mount.gateway.handle_request(
                method=method, path=target, headers=headers, body=body or b""
            )
        except ForbiddenError:
            return _with_cors(
                _error(404, "not_found", f"no route for {method} {target.split('?', 1)[0]}"), headers
            )
        except NotAuthorizedError:
            return _with_cors(_error(401, "unauthorized", "missing or invalid token"), headers)
        except LocalGatewayException as exc:  # pragma: no cover - defensive
            return _with_cors(_error(502, "bad_gateway", str(exc)), headers)
        status = int(response["statusCode"])
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        raw = response.get("body")
        if raw is None:
            data = b""
        elif response.get("isBase64Encoded"):
            data = base64.b64decode(raw)
        else:
            data = raw.encode() if isinstance(raw, str) else raw
        return status, out_headers, data


def _with_cors(answer: tuple[int, dict, bytes], request_headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """The gateway's own errors carry the CORS grant too (as the deployed API's gateway
    responses do), so a page of an allowed origin can read them."""
    from campaign_shared.cors import response_headers
    from campaign_shared.settings import get_settings

    status, headers, data = answer
    return status, {**headers, **response_headers(get_settings().cors_allow_origins, request_headers)}, data


def _error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    """What the gateway answers itself, as the error envelope with a request id of its own
    (like API Gateway's own errors); 401s with their ``WWW-Authenticate``."""
    import uuid

    request_id = str(uuid.uuid4())
    body = envelope(code, message)
    body["error"]["request_id"] = request_id
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="campaign"'
    return status, headers, json.dumps(body).encode()


# What the HTTP layer itself refuses, as the error envelope (never http.server's HTML page).
_HTTP_ERRORS = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "request_header_fields_too_large",
    501: "not_implemented",
    505: "http_version_not_supported",
}


class BadRequestBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    owner: Gateway
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall
    server_version = "campaign-gateway"
    timeout = 30  # seconds a client may take to send what it announced (then 408 and close)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal of the HTTP layer (bad request line, long URI or headers, unknown
        method) in the error envelope, and the connection closed."""
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # a malformed line reads as HTTP/0.9, which has no headers
        status, headers, data = _error(
            code, _HTTP_ERRORS.get(code, "invalid_request"), message or "bad request"
        )
        try:
            self.send_response(code, message)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(data)
        except OSError:  # the client is gone
            pass

    def _read_body(self) -> bytes:
        """The request body: by Content-Length or chunked; bounded by the Lambda payload limit."""
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length_header = self.headers.get("Content-Length")
        if encoding:
            if length_header is not None:
                raise BadRequestBody(400, "both Content-Length and Transfer-Encoding were sent")
            if encoding != "chunked":
                raise BadRequestBody(400, f"unsupported Transfer-Encoding: {encoding}")
            return self._read_chunked()
        if length_header is None:
            return b""
        text = length_header.strip()
        if not text.isdigit():
            raise BadRequestBody(400, "Content-Length must be a non-negative integer")
        length = int(text)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            raise BadRequestBody(413, "request body exceeds 6 MB")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise BadRequestBody(400, "request body is shorter than its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequestBody(400, "malformed chunked body") from None
            if size < 0:
                raise BadRequestBody(400, "malformed chunked body")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequestBody(413, "request body exceeds 6 MB")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.read(2) not in (b"\r\n",):
                raise BadRequestBody(400, "malformed chunked body")
            parts.append(chunk)

    def _discard(self, length: int) -> None:
        # Read and discard what was sent so the connection stays usable, then refuse.
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except BadRequestBody as exc:
            if exc.status == 413 and not self.close_connection:
                status, headers, data = _error(413, "payload_too_large", exc.message)
                self._reply(status, headers, data)
            else:
                self.send_error(exc.status, exc.message)
            return
        except TimeoutError:
            self.send_error(408, "the request body did not arrive in time")
            return
        headers_in = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, headers, data = self.owner.dispatch(self.command, self.path, headers_in, body)
        except Exception:  # never a stack trace on the wire
            status, headers, data = _error(500, "internal_error", "internal error")
        self._reply(status, headers, data)

    def _reply(self, status: int, headers: dict, data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        # headers and body in one write (end_headers would write them separately)
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]  # set by send_header
        buffer.append(b"\r\n")
        if self.command != "HEAD":
            buffer.append(data)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle
    do_TRACE = do_CONNECT = _handle  # known methods: the route answers 405 in the envelope
