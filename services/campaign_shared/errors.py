"""The error envelope of API.md and the errors that map onto it.

Every non-2xx body is ``{"error": {"code", "message", "details"?}}``. Domain code raises
the subclasses below; the route layer turns them into responses in one place.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message()
        if code is not None:
            self.code = code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def default_message(self) -> str:
        return self.code.replace("_", " ")

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self.message, self.details)


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"


MISSING_TOKEN = "missing bearer token"


class Unauthorized(ApiError):
    """401, with ``WWW-Authenticate`` (RFC 6750): the scheme and realm, and
    ``error="invalid_token"`` when a token was sent but is not valid."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        challenge = 'Bearer realm="campaign"'
        if self.message != MISSING_TOKEN:
            reason = self.message.replace('"', "'")
            challenge += f', error="invalid_token", error_description="{reason}"'
        self.headers.setdefault("WWW-Authenticate", challenge)


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    """A state conflict: 409 with a specific code (``sold_out``, ``not_available``...)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(ApiError):
    """The caller asked too often: 429 with ``Retry-After`` (seconds)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, retry_after)))


class ServiceUnavailable(ApiError):
    """A dependency failed or throttled: the client should retry after ``Retry-After``."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(retry_after))


def envelope(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "param"?, "details"?}}``: ``param`` names the first
    input a 400 refused (``lock_ttl_seconds``, ``items.0.price``, ``body``). The route layer
    adds ``request_id`` to every error it answers."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
        first = details[0] if details and isinstance(details[0], dict) else {}
        loc = first.get("loc") if isinstance(first, dict) else None
        if code == "invalid_request" and loc:
            error["param"] = ".".join(str(part) for part in loc)
    return {"error": error}


def validation_details(exc: Any) -> list[dict[str, Any]]:
    """pydantic ``ValidationError`` -> JSON-safe details (location, message, type)."""
    details = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        details.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return details


def invalid_from_validation(exc: Any, where: str = "body") -> InvalidRequest:
    details = validation_details(exc)
    first = details[0] if details else {"loc": [], "msg": "invalid"}
    loc = ".".join(first["loc"]) or where
    return InvalidRequest(f"invalid {where}: {loc}: {first['msg']}", details=details)
