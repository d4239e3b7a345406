"""The gateway's own refusals over a real socket: every one is the JSON error envelope with the
right status (never http.server's HTML page), and a chunked body is read, not ignored."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e


def _raw(url: str, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response (by Content-Length), return (status, headers, body)."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout) as sock:
        sock.sendall(data)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
        }
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest[:length]


def _envelope(result: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    got, headers, body = result
    assert got == status, (got, body[:200])
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert json.loads(body)["error"]["code"] == code, body


def test_unknown_method_is_501_envelope(stack_url):
    _envelope(_raw(stack_url, b"FROB /events/health HTTP/1.1\r\nHost: x\r\n\r\n"), 501, "not_implemented")


def test_trace_is_405_envelope(stack_url):
    result = _raw(stack_url, b"TRACE /events/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    _envelope(result, 405, "method_not_allowed")


def test_oversized_uri_is_414_envelope(stack_url):
    target = b"/events/health?" + b"a" * 70_000
    _envelope(_raw(stack_url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "uri_too_long")


def test_oversized_header_is_431_envelope(stack_url):
    request = b"GET /events/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    _envelope(_raw(stack_url, request), 431, "request_header_fields_too_large")


def test_too_many_headers_is_431_envelope(stack_url):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    _envelope(
        _raw(stack_url, b"GET /events/health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"),
        431,
        "request_header_fields_too_large",
    )


def test_malformed_request_line_is_400_envelope(stack_url):
    _envelope(_raw(stack_url, b"GARBAGE\r\n\r\n"), 400, "invalid_request")


def test_bad_content_length_is_400_envelope(stack_url):
    for value in (b"abc", b"-5", b"1e3"):
        request = b"POST /events/orders HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + b"\r\n\r\n{}"
        _envelope(_raw(stack_url, request), 400, "invalid_request")


def test_content_length_and_chunked_together_is_400(stack_url):
    request = (
        b"POST /events/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    _envelope(_raw(stack_url, request), 400, "invalid_request")


def test_a_chunked_body_is_read(stack_url, bearer):
    """A distributor registered with a chunked body keeps its ``invited_by`` (it was dropped)."""
    headers = bearer("customer", "edges", "parent-1")
    auth = headers["Authorization"].encode()
    rules = json.dumps(
        {"default_rate_bps": 1000, "parent_rate_bps": 500, "settle_after_days": 0, "auto_approve": True}
    ).encode()
    merchant = bearer("merchant", "edges", "m")["Authorization"].encode()
    status, _, body = _raw(
        stack_url,
        b"PUT /distribution/rules HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + merchant
        + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(rules)
        + rules,
    )
    assert status == 200, body
    status, _, body = _raw(
        stack_url,
        b"POST /distribution/distributors HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nContent-Length: 2\r\n\r\n{}",
    )
    assert status == 201, body
    child = bearer("customer", "edges", "child-1")["Authorization"].encode()
    payload = json.dumps({"invited_by": "parent-1"}).encode()
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, payload[:5], len(payload) - 5, payload[5:])
    status, _, body = _raw(
        stack_url,
        b"POST /distribution/distributors HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + child
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked,
    )
    assert status == 201, body
    assert json.loads(body)["parent_id"] == "parent-1"


def test_a_body_shorter_than_its_length_is_400_not_a_hang(stack_url):
    """The client announces 100 bytes, sends 2 and closes its side: 400 in the envelope at once
    (a client that keeps the connection open instead gets 408 after the gateway's read timeout)."""
    parsed = urlparse(stack_url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=40) as sock:
        sock.sendall(b"POST /events/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    assert status == 400, data[:200]
    assert b'"invalid_request"' in data


def test_options_names_the_routes_methods(stack_url):
    status, headers, body = _raw(stack_url, b"OPTIONS /coupons/templates HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 204 and body == b""
    assert headers["allow"] == "GET, OPTIONS, POST"
    _envelope(
        _raw(stack_url, b"OPTIONS /coupons/nowhere/at/all HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "not_found"
    )
