"""Fixtures of the fuzzing and authorization-matrix suites (issue 8, suites 3 and 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest


def gateway_wsgi(client: Any) -> Callable[..., Any]:
    """A WSGI application over the in-process gateway (``tests/conftest.py``'s ``gateway``),
    so schemathesis drives it with its own WSGI transport, without sockets."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not target:
            target = quote(environ.get("PATH_INFO", "/"), safe="/:@!$&'()*+,;=-._~")
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, out_headers, data = client.gateway.dispatch(environ["REQUEST_METHOD"], target, headers, body)
        reason = "OK" if status < 400 else "Error"
        start_response(
            f"{status} {reason}",
            [(k, str(v)) for k, v in out_headers.items() if k.lower() != "content-length"]
            + [("Content-Length", str(len(data)))],
        )
        return [data]

    return app


@pytest.fixture
def fuzz_app(gateway) -> Callable[..., Any]:
    """The in-process gateway as a WSGI app for schemathesis."""
    return gateway_wsgi(gateway)
