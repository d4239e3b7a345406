"""Issue 8, suite 3: schemathesis over ``GET /openapi.json``, every operation, with valid
tokens of every role (merchant, customer, storefront) of shop ``s1`` and with no token at all.

Two phases per operation and role: schemathesis' coverage phase (boundary values of every
parameter and body field, wrong types, values off each pattern, and every HTTP method the
operation does not declare, which must be 405 in the envelope) and its hypothesis fuzzing
(positive and negative data).

For every response: never a 5xx; every non-2xx body is the error envelope of API.md
(``{"error": {"code", "message", "details"?}}``); every 2xx body matches the documented response
schema (schemathesis' ``response_schema_conformance`` and ``content_type_conformance``).

Bounded for ``make test`` (a few examples per operation and role, derandomized so a run is
reproducible); ``CAMPAIGN_SOAK=1`` (``make soak``) raises the count and draws fresh data.
Failures are collected over the whole run and reported together with a reproduction (method,
path, body, token role); the test stays strict. A summary line counts requests per status class.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from typing import Any

import pytest

from campaign_shared.resources import SERVICES as _ALL_SERVICES

SOAK = os.environ.get("CAMPAIGN_SOAK") == "1"
# Examples per operation for a role the operation allows (and for public operations).
ALLOWED_EXAMPLES = int(os.environ.get("CAMPAIGN_FUZZ_EXAMPLES") or (150 if SOAK else 8))
# Examples per operation for a role the operation refuses: the 403 comes before any parsing.
REFUSED_EXAMPLES = 10 if SOAK else 2
ROLES = {"merchant": "m-fuzz", "customer": "c-fuzz", "storefront": "store-fuzz", "anonymous": None}
SERVICES = tuple(_ALL_SERVICES)
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def envelope_problem(status: int, headers: dict[str, Any], content: bytes) -> str | None:
    """Why a non-2xx body is not the API.md error envelope, or None when it is."""
    try:
        body = json.loads(content)
    except ValueError:
        return f"body is not JSON: {content[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f"body is not {{'error': {{...}}}}: {body!r:.300}"
    error = body["error"]
    extra = set(error) - {"code", "message", "details", "param", "request_id"}
    if extra:
        return f"unexpected keys {sorted(extra)} in error"
    if not isinstance(error.get("request_id"), str) or not error["request_id"]:
        return f"error.request_id is not text: {error.get('request_id')!r}"
    if "param" in error and (error["code"] != "invalid_request" or not isinstance(error["param"], str)):
        return f"error.param on a {error['code']}, or not text: {error['param']!r}"
    if not isinstance(error.get("code"), str) or not _SNAKE.match(error["code"]):
        return f"error.code is not snake_case text: {error.get('code')!r}"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return f"error.message is not text: {error.get('message')!r}"
    if "details" in error and not isinstance(error["details"], list):
        return f"error.details is not a list: {error['details']!r:.200}"
    if status == 400 and error["code"] != "invalid_request":
        return f"400 with code {error['code']!r}, API.md says invalid_request"
    if status == 401 and error["code"] != "unauthorized":
        return f"401 with code {error['code']!r}"
    if status == 403 and error["code"] != "forbidden":
        return f"403 with code {error['code']!r}"
    return None


def _reproduction(case: Any, role: str, status: int, content: bytes) -> str:
    body = case.body
    try:
        shown = json.dumps(body, default=repr)[:400]
    except Exception:  # pragma: no cover - exotic generated bodies
        shown = repr(body)[:400]
    query = f"?{case.query}" if case.query else ""
    return (
        f"{case.method} {case.formatted_path}{query} role={role} shop=s1 body={shown} "
        f"-> {status} {content[:300]!r}"
    )


def fuzz_service(prefix: str, wsgi_app: Any, make_token: Any) -> tuple[Counter, list[str], int]:
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(f"/{prefix}/")]
    statuses: Counter = Counter()
    failures: list[str] = []
    tokens = {role: make_token(role, "s1", sub) if sub else None for role, sub in ROLES.items()}

    for operation in operations:
        allowed = operation.definition.raw.get("x-roles")
        coverage = _coverage_cases(schema, operation)
        for role, token in tokens.items():
            refused = allowed is not None and role not in allowed
            for case in coverage:
                _check(case, role, token, refused, statuses, failures)
        has_input = bool(operation.definition.raw.get("parameters")) or "requestBody" in (
            operation.definition.raw
        )
        positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        strategy = (
            st.one_of(positive, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
            if has_input
            else positive
        )
        for role, token in tokens.items():
            refused = allowed is not None and role not in allowed
            _sender(strategy, role, token, refused, statuses, failures)()
    return statuses, failures, len(operations)


def _coverage_cases(schema: Any, operation: Any) -> list[Any]:
    """Schemathesis' coverage phase for one operation: boundary and off-pattern values of each
    input, and every HTTP method the operation does not declare."""
    from schemathesis import GenerationMode

    config = schema.config.generation_for(operation=operation, phase="coverage")
    return list(
        schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=config,
        )
    )


def _undeclared_method(case: Any) -> bool:
    data = getattr(getattr(case, "meta", None), "phase", None)
    scenario = getattr(getattr(data, "data", None), "scenario", None)
    return str(getattr(scenario, "value", scenario)) == "unspecified_http_method"


def _check(
    case: Any, role: str, token: str | None, refused: bool, statuses: Counter, failures: list[str]
) -> None:
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    case.headers = headers
    response = case.call()
    status = response.status_code
    statuses[f"{status // 100}xx"] += 1
    statuses[status] += 1
    content = response.content or b""
    where = _reproduction(case, role, status, content)
    if status >= 500:
        failures.append(f"5xx: {where}")
        return
    if _undeclared_method(case):
        # OPTIONS names the route's methods (204 with Allow); every other undeclared method is
        # 405 in the envelope.
        if case.method == "OPTIONS":
            allow = {k.lower(): v for k, v in response.headers.items()}.get("allow") or ""
            if status != 204 or "OPTIONS" not in str(allow):
                failures.append(f"OPTIONS not 204 with Allow: {where}")
            return
        if status != 405:
            failures.append(f"undeclared method not 405: {where}")
    elif refused and status != (401 if token is None else 403):
        failures.append(f"role {role} not refused with {401 if token is None else 403}: {where}")
    if not 200 <= status < 300:
        problem = envelope_problem(status, dict(response.headers), content)
        if problem:
            failures.append(f"envelope: {problem}: {where}")
        return
    try:
        case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
    except FailureGroup as group:
        for failure in group.exceptions:
            failures.append(f"schema: {failure.title}: {failure.message[:300]}: {where}")


def _sender(
    strategy: Any, role: str, token: str | None, refused: bool, statuses: Counter, failures: list[str]
) -> Any:
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=strategy)
    @settings(
        max_examples=REFUSED_EXAMPLES if refused else ALLOWED_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not SOAK,
        suppress_health_check=list(HealthCheck),
        # Failures are collected, not raised: nothing to shrink.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    def send(case: Any) -> None:
        _check(case, role, token, refused, statuses, failures)

    return send


# The same run at full size for ``make soak`` (``-m soak`` with ``CAMPAIGN_SOAK=1``).
@pytest.mark.parametrize(
    "prefix",
    [*SERVICES, *(pytest.param(p, marks=pytest.mark.soak, id=f"soak-{p}") for p in SERVICES)],
)
def test_fuzz_every_operation_every_role(prefix, fuzz_app, token):
    started = time.monotonic()
    statuses, failures, operations = fuzz_service(prefix, fuzz_app, token)
    by_class = {k: v for k, v in statuses.items() if isinstance(k, str)}
    by_code = {k: v for k, v in statuses.items() if isinstance(k, int)}
    requests_sent = sum(by_class.values())
    classes = " ".join(f"{k}={v}" for k, v in sorted(by_class.items()))
    codes = " ".join(f"{k}={v}" for k, v in sorted(by_code.items()))
    print(
        f"\nfuzz /{prefix}: {operations} operations x {len(ROLES)} roles, {requests_sent} requests "
        f"({classes}; {codes}) in {time.monotonic() - started:.1f}s, {len(failures)} failures"
    )
    # Every operation of the service was reached, and positive data got past validation somewhere.
    assert operations > 0
    assert statuses["2xx"] > 0, f"no 2xx at all under /{prefix}: {dict(statuses)}"
    assert not failures, f"{len(failures)} fuzz failures under /{prefix}:\n" + "\n".join(
        dict.fromkeys(failures)
    )
