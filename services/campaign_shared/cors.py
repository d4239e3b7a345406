"""CORS: which browser origins may call the API, answered by the route layer itself.

The allowed origins come from the campaign definition (``cors.allow_origins``): on AWS through
``CAMPAIGN_CORS_ALLOW_ORIGINS`` (comma-separated) on every function, locally from the definition
``campaign local`` runs. API Gateway forwards ``OPTIONS`` to the function (the deployed template
gives every path an ``OPTIONS`` method), so a preflight is answered by the same code everywhere:

- a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an allowed
  origin gets 204 with the route's methods, the request headers clients send and a max age;
- an answer to an allowed origin carries ``Access-Control-Allow-Origin`` (that origin, never
  ``*``) and exposes the headers clients read (``X-Request-Id``, ``Retry-After``, ...);
- an origin not in the list gets no ``Access-Control-*`` header at all (the browser then refuses
  to hand the answer to the page); every answer says ``Vary: Origin`` when CORS is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Request headers a browser client may send (besides the CORS-safelisted ones).
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-Id",
    "X-Correlation-Id",
)
# Response headers a browser client may read (besides the CORS-safelisted ones).
EXPOSE_HEADERS = (
    "X-Request-Id",
    "X-Correlation-Id",
    "X-Request-Units",
    "Retry-After",
    "Idempotent-Replayed",
    "WWW-Authenticate",
)
DEFAULT_MAX_AGE = 600  # seconds a browser may cache a preflight


def parse_origins(text: str | None) -> tuple[str, ...]:
    """``CAMPAIGN_CORS_ALLOW_ORIGINS``: comma-separated origins (``https://shop.example.com``)."""
    return tuple(o.strip().rstrip("/") for o in (text or "").split(",") if o.strip())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def allowed_origin(origins: Iterable[str], headers: Mapping[str, str]) -> str | None:
    """The request's ``Origin`` when it is one of ``origins`` (exact match), else None."""
    origin = _header(headers, "origin")
    if origin is None:
        return None
    return origin if origin.rstrip("/") in set(origins) else None


def preflight_headers(
    origins: Iterable[str], headers: Mapping[str, str], methods: Iterable[str], max_age: int
) -> dict[str, str]:
    """The headers of a 204 answer to ``OPTIONS`` on a route with ``methods``: ``Allow``, and
    the CORS grant when the origin is allowed and asks for one of the route's methods."""
    listed = sorted({*(m.upper() for m in methods), "OPTIONS"})
    found = {"Allow": ", ".join(listed)}
    origins = tuple(origins)
    if origins:
        found["Vary"] = "Origin"
    origin = allowed_origin(origins, headers)
    wanted = (_header(headers, "access-control-request-method") or "").upper()
    if origin is None or wanted not in listed:
        return found
    found.update(
        {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(listed),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
            "Access-Control-Max-Age": str(max_age),
        }
    )
    return found


def response_headers(origins: Iterable[str], headers: Mapping[str, str]) -> dict[str, str]:
    """The CORS headers of an actual answer to a request with ``headers``."""
    origins = tuple(origins)
    if not origins:
        return {}
    found = {"Vary": "Origin"}
    origin = allowed_origin(origins, headers)
    if origin is not None:
        found["Access-Control-Allow-Origin"] = origin
        found["Access-Control-Expose-Headers"] = ", ".join(EXPOSE_HEADERS)
    return found
