"""The route layer every service uses: one Chalice app per service with auth, parsing,
idempotency, error mapping and observability applied once.

A handler is a thin function of an ``ApiRequest``::

    api = ServiceApi("coupons")

    @api.route("/templates", methods=["POST"], roles=[Role.merchant], body=TemplateIn,
               response=TemplateOut, status=201)
    def create_template(req: ApiRequest) -> TemplateOut:
        return domain.create_template(req.principal.shop, req.body)

Paths are the service's own (``/templates``); the gateway mounts the app under its prefix
(``/coupons``) as an API Gateway base-path mapping does. Every route is recorded for the
generated OpenAPI document.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice, Response
from pydantic import BaseModel, ValidationError

from campaign_shared import cors, errors
from campaign_shared.auth import Principal, Role
from campaign_shared.settings import get_settings
from campaign_shared.types import is_id

MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request payload limit
MAX_JSON_DEPTH = 32  # deeper bodies are refused with 400 (no model nests more than a few levels)
_TEMPLATE_PARAM = re.compile(r"\{(\w+)\}")
# Bodies are parsed as JSON whatever the Content-Type (curl -d sends form encoding).
JSON_TYPES = ["*/*"]


def _documented_errors(errors_: Iterable[int], roles: tuple[Role, ...] | None) -> tuple[int, ...]:
    """The route's error statuses: its own (404, 409, ...) and, for a route with roles, the 401
    (no valid token) and 403 (a role not in ``roles``) that follow from them."""
    codes = set(errors_)
    if roles is not None:
        codes |= {401, 403}
    return tuple(sorted(codes))


@dataclass
class ApiRequest:
    principal: Principal | None
    body: Any
    query: Any
    path: dict[str, str]
    headers: dict[str, str]
    raw: Any = field(repr=False, default=None)

    @property
    def shop(self) -> str:
        assert self.principal is not None
        return self.principal.shop

    @property
    def sub(self) -> str:
        assert self.principal is not None
        return self.principal.sub


@dataclass
class Reply:
    """A handler's answer when it must choose the status or headers."""

    body: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RouteDoc:
    path: str
    method: str
    roles: tuple[Role, ...] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    summary: str
    errors: tuple[int, ...]
    content_type: str = "application/json"
    name: str = ""  # the handler's name: the operation's name in the OpenAPI document
    description: str = ""  # the handler's docstring, when it has more to say than the summary


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def error_response(exc: errors.ApiError) -> Response:
    headers: dict[str, Any] = {"Content-Type": "application/json", **exc.headers}
    return Response(body=json.dumps(exc.body()), status_code=exc.status, headers=headers)


def _json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    if body is None or status == 204:
        empty: dict[str, Any] = dict(headers or {})
        return Response(body="", status_code=status, headers=empty)
    merged: dict[str, Any] = {"Content-Type": "application/json", **(headers or {})}
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status, headers=merged)


BARE_CHALICE = (
    "this service is not run by the chalice command on its own: it needs the shared package "
    "vendored and an AWS to talk to. Locally: `make run` (every service, on an embedded AWS); "
    "for AWS: `campaign package NAME` then `campaign deploy NAME` (README: Chalice users)"
)


def _refuse_bare_chalice() -> None:
    """``chalice local`` / ``chalice package`` / ``chalice deploy`` inside a service folder
    would serve 500s or ship a zip that fails on import: refuse in one line instead. The
    project's packaging drives Chalice from a build folder (with ``vendor/``), not this way."""
    import os
    import sys

    if os.path.basename(sys.argv[0] if sys.argv else "") != "chalice":
        return
    if len(sys.argv) > 1 and sys.argv[1] in ("--help", "-h", "--version"):
        return
    sys.stderr.write(f"chalice: {BARE_CHALICE}\n")
    sys.stderr.flush()
    import threading

    if threading.current_thread() is not threading.main_thread():
        # ``chalice local`` builds the app in a server thread of a worker its reloader watches:
        # end the reloader too (or it would exit 0), then the whole worker.
        if os.environ.get("CHALICE_WORKER"):
            import signal

            os.kill(os.getppid(), signal.SIGTERM)
        os._exit(2)
    raise SystemExit(2)


class _InstrumentedChalice(Chalice):
    """Chalice, with each Lambda invocation run through ``observability.lambda_entry``."""

    campaign_service = ""

    def __call__(self, event: Any, context: Any) -> Any:
        from campaign_shared import observability

        return observability.lambda_entry(self.campaign_service, super().__call__, event, context)


class ServiceApi:
    def __init__(self, service: str) -> None:
        _refuse_bare_chalice()
        self.service = service
        self.app = _InstrumentedChalice(app_name=f"campaign-{service}")
        self.app.campaign_service = service
        self.app.api.binary_types = [t for t in self.app.api.binary_types if t != "image/svg+xml"]
        self.docs: list[RouteDoc] = []
        self.app.register_middleware(self._http_middleware, "http")
        self.route("/health", summary="Liveness probe; no token needed.", idempotent=False)(_health)
        # Make the route list reachable from the Chalice app (the gateway and OpenAPI use it).
        self.app.campaign_api = self  # type: ignore[attr-defined]

    # ---- registration ---------------------------------------------------------------

    def route(
        self,
        path: str,
        *,
        methods: Sequence[str] = ("GET",),
        roles: Iterable[Role] | None = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        summary: str = "",
        errors_: Iterable[int] = (),
        idempotent: bool = True,
        content_type: str = "application/json",
        text_params: Iterable[str] = (),
    ) -> Callable[[Callable[[ApiRequest], Any]], Callable[[ApiRequest], Any]]:
        """``text_params`` names path parameters that are not ids (a tag such as ``备孕``): they
        are URL-decoded and left to the handler to validate instead of the id alphabet check."""
        role_set = tuple(roles) if roles is not None else None
        free = frozenset(text_params)

        def register(handler: Callable[[ApiRequest], Any]) -> Callable[[ApiRequest], Any]:
            for method in methods:
                doc = RouteDoc(
                    path=path,
                    method=method.upper(),
                    roles=role_set,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    summary=summary or (handler.__doc__ or "").strip().split("\n")[0],
                    errors=_documented_errors(errors_, role_set),
                    content_type=content_type,
                    name=handler.__name__,
                    description=inspect.cleandoc(handler.__doc__ or ""),
                )
                self.docs.append(doc)

            def view(**path_params: str) -> Response:
                return self._invoke(
                    handler, path, path_params, role_set, body, query, status, idempotent, free
                )

            view.__name__ = f"{self.service}_{handler.__name__}"
            functools.update_wrapper(view, handler, assigned=("__doc__",), updated=())
            self.app.route(path, methods=[m.upper() for m in methods], content_types=JSON_TYPES)(view)
            return handler

        return register

    # ---- request pipeline -------------------------------------------------------------

    def _invoke(
        self,
        handler: Callable[[ApiRequest], Any],
        template: str,
        path_params: dict[str, str],
        roles: tuple[Role, ...] | None,
        body_model: type[BaseModel] | None,
        query_model: type[BaseModel] | None,
        status: int,
        idempotent: bool,
        free: frozenset[str] = frozenset(),
    ) -> Response:
        request: Any = self.app.current_request  # always set for a REST invocation
        try:
            principal = self._authorize(request, roles)
            for name, value in path_params.items():
                if name in free:
                    path_params[name] = urllib.parse.unquote(value)
                elif not is_id(value):
                    raise errors.NotFound(f"no such {name.removesuffix('_id').replace('_', ' ')}")
            concrete = _TEMPLATE_PARAM.sub(lambda m: path_params.get(m.group(1), ""), template)
            raw_body = request.raw_body or b""
            if len(raw_body) > MAX_BODY_BYTES:
                raise errors.PayloadTooLarge("request body exceeds 6 MB")
            parsed_body = _parse_body(raw_body, body_model) if body_model is not None else None
            parsed_query = _parse_query(request.query_params, query_model)
            api_request = ApiRequest(
                principal=principal,
                body=parsed_body,
                query=parsed_query,
                path=dict(path_params),
                headers=dict(request.headers),
                raw=request,
            )
            from campaign_shared.storage import paging

            # Cursors handed out and accepted here belong to this route and this caller only.
            who = (principal.shop, principal.sub) if principal is not None else ("", "")
            paging.bind_cursors(self.service, request.method, concrete, *who)

            def execute() -> dict[str, Any]:
                return self._execute(handler, api_request, status)

            key = request.headers.get("idempotency-key")
            if (
                idempotent
                and key is not None
                and request.method in ("POST", "PATCH")
                and principal is not None
            ):
                from campaign_shared import idempotency

                idempotency.check_key(key)
                context = self.app.lambda_context
                remaining = getattr(context, "get_remaining_time_in_millis", None)
                result = idempotency.run(
                    service=self.service,
                    record=idempotency.record_id(
                        service=self.service,
                        shop=principal.shop,
                        sub=principal.sub,
                        method=request.method,
                        path=concrete,
                        key=key,
                    ),
                    fingerprint=idempotency.fingerprint(raw_body, request.query_params),
                    execute=execute,
                    remaining_ms=remaining() if callable(remaining) else None,
                )
            else:
                result = execute()
            if result.get("raw") is not None:
                return result["raw"]
            return _json_response(result["body"], result["status"], result["headers"])
        except Exception as exc:  # one place maps every failure to the envelope
            return error_response(self._as_api_error(exc))

    def _execute(
        self, handler: Callable[[ApiRequest], Any], request: ApiRequest, status: int
    ) -> dict[str, Any]:
        """Run the handler; a 4xx is an answer (stored for idempotent retries), a 5xx raises."""
        try:
            value = handler(request)
        except Exception as exc:
            api_error = self._as_api_error(exc)
            if api_error.status >= 500:
                raise api_error from exc
            return {"body": api_error.body(), "status": api_error.status, "headers": api_error.headers}
        if isinstance(value, Response):
            return {"raw": value}
        headers: dict[str, str] = {}
        if isinstance(value, Reply):
            headers = value.headers
            status = value.status or status
            value = value.body
        if value is None and status == 200:
            status = 204
        return {"body": _jsonable(value), "status": status, "headers": headers}

    def _as_api_error(self, exc: BaseException) -> errors.ApiError:
        if isinstance(exc, errors.ApiError):
            return exc
        if isinstance(exc, ValidationError):
            return errors.invalid_from_validation(exc)
        from campaign_shared.storage import failures

        translated = failures.translate(exc)
        if translated is not None:
            self._log().warning(
                "storage failure", extra={"error": type(exc).__name__, "code": failures.error_code(exc)}
            )
            return translated
        if type(exc).__name__ == "IdempotencyPersistenceLayerError":
            return errors.ServiceUnavailable("idempotency store unavailable; retry shortly")
        self._log().exception("unhandled error")
        return errors.ApiError("internal error")

    def _authorize(self, request: Any, roles: tuple[Role, ...] | None) -> Principal | None:
        if roles is None:
            return None
        found = request.context.get("campaign_principal")
        if isinstance(found, errors.ApiError):
            raise found
        if found is None:
            raise errors.Unauthorized(errors.MISSING_TOKEN)
        if found.role not in roles:
            raise errors.Forbidden(f"role {found.role.value} may not use this route")
        return found

    # ---- middleware: auth, correlation id, logs, metrics, envelope for Chalice's errors ---

    def _http_middleware(self, request: Any, get_response: Callable[[Any], Response]) -> Response:
        from campaign_shared import capacity, observability

        started = time.perf_counter()
        log = self._log()
        context = request.context if request is not None else {}
        correlation = (
            (request.headers.get("x-correlation-id") if request is not None else None)
            or context.get("requestId")
            or _new_correlation_id()
        )
        log.set_correlation_id(correlation)
        header = request.headers.get("authorization") if request is not None else None
        if header is not None:
            context["campaign_principal"] = _principal(header)
        route = f"{request.method} {context.get('resourcePath', '')}" if request is not None else "?"
        answer = get_response
        if request is not None and request.method == "OPTIONS":
            answer = self._options
        with capacity.measure() as units:
            response = observability.traced(self.service, route, answer, request)
        response = _with_request_id(
            _envelope_for_chalice_errors(response), context.get("requestId") or correlation
        )
        if request is not None and request.method != "OPTIONS":
            settings = get_settings()
            response.headers.update(cors.response_headers(settings.cors_allow_origins, request.headers))
        response.headers["X-Correlation-Id"] = correlation
        response.headers["X-Request-Units"] = units.header()
        millis = (time.perf_counter() - started) * 1000
        log.info("request", extra={"route": route, "status": response.status_code, "ms": round(millis, 2)})
        observability.record_request(self.service, route, response.status_code, millis)
        return response

    def _options(self, request: Any) -> Response:
        """``OPTIONS`` on a route: 204 with its methods in ``Allow`` and, for a preflight from an
        allowed origin, the CORS grant (``campaign_shared.cors``). API Gateway forwards it here."""
        settings = get_settings()
        methods = self.app.routes.get(request.context.get("resourcePath", ""), {})
        headers: dict[str, Any] = cors.preflight_headers(
            settings.cors_allow_origins, request.headers, methods, settings.cors_max_age
        )
        return Response(body="", status_code=204, headers=headers)

    def _log(self) -> Any:
        from campaign_shared import observability

        return observability.logger(self.service)


def _principal(header: str) -> Any:
    """The token's principal, or the ApiError to answer: 401 for a bad token (after reading a
    Secrets Manager secret again if the signature did not match: it may have been rotated),
    503 when the secret cannot be read."""
    from campaign_shared.auth import decode_bearer
    from campaign_shared.secrets import jwt_secret, refreshed_jwt_secret

    try:
        try:
            return decode_bearer(header, jwt_secret())
        except errors.Unauthorized as exc:
            if "Signature verification failed" not in exc.message:
                raise
            fresh = refreshed_jwt_secret()
            if fresh is None:
                raise
            return decode_bearer(header, fresh)
    except errors.ApiError as exc:
        return exc
    except Exception:  # Secrets Manager unreachable or throttled: the caller may retry
        from campaign_shared import observability

        observability.logger("campaign").exception("the JWT secret could not be read")
        return errors.ServiceUnavailable("authentication is unavailable; retry shortly")


def _new_correlation_id() -> str:
    import uuid

    return str(uuid.uuid4())


def _health(req: ApiRequest) -> dict[str, str]:
    """Liveness probe; no token needed."""
    return {"status": "ok"}


_CHALICE_ERRORS = {
    "MethodNotAllowedError": errors.MethodNotAllowed,
    "UnsupportedMediaType": errors.UnsupportedMediaType,
    "BadRequest": errors.InvalidRequest,
    "BadRequestError": errors.InvalidRequest,
    "NotFoundError": errors.NotFound,
    "UnauthorizedError": errors.Unauthorized,
    "ForbiddenError": errors.Forbidden,
}


def _with_request_id(response: Response, request_id: str) -> Response:
    """Every error carries the request's id (API Gateway's, else the correlation id), in the
    envelope and in ``X-Request-Id``, so a report of it can be found in the logs."""
    response.headers["X-Request-Id"] = request_id
    if response.status_code < 400:
        return response
    body = response.body
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else body
    except ValueError:
        return response
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        parsed["error"]["request_id"] = request_id
        response.body = json.dumps(parsed)
    return response


def _envelope_for_chalice_errors(response: Response) -> Response:
    """Chalice answers some errors itself (405, 415, 500) as ``{"Code", "Message"}``."""
    if response.status_code < 400 or not isinstance(response.body, dict) or "Code" not in response.body:
        return response
    cls = _CHALICE_ERRORS.get(response.body.get("Code", ""), errors.ApiError)
    exc = cls(str(response.body.get("Message", "")) if cls is not errors.ApiError else "internal error")
    fixed = error_response(exc)
    fixed.status_code = response.status_code if cls is not errors.ApiError else 500
    for name, value in response.headers.items():
        if name.lower() in ("allow",):
            fixed.headers[name] = value
    return fixed


def _parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.InvalidRequest(
                "request body is not valid JSON", details=[{"loc": ["body"], "msg": "malformed JSON"}]
            ) from None
        except RecursionError:
            raise _too_deep_error() from None
        if _too_deep(data, MAX_JSON_DEPTH):
            raise _too_deep_error()
    if not isinstance(data, dict):
        raise errors.InvalidRequest(
            "request body must be a JSON object", details=[{"loc": ["body"], "msg": "expected an object"}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.invalid_from_validation(exc, "body") from None


def _too_deep_error() -> errors.InvalidRequest:
    return errors.InvalidRequest(
        f"request body nests deeper than {MAX_JSON_DEPTH} levels",
        details=[{"loc": ["body"], "msg": "too deeply nested"}],
    )


def _too_deep(data: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests more than ``limit`` arrays/objects (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _parse_query(params: dict[str, str] | None, model: type[BaseModel] | None) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise errors.invalid_from_validation(exc, "query") from None
