"""JWT bearer auth as API.md says: HS256 with ``sub``, ``shop``, ``role``, ``exp``."""

from __future__ import annotations

import functools
import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from campaign_shared.errors import MISSING_TOKEN, Unauthorized
from campaign_shared.types import Id


class Role(StrEnum):
    merchant = "merchant"
    customer = "customer"
    storefront = "storefront"


class Principal(BaseModel):
    """The caller. ``sub`` and ``shop`` are ids of the one identity alphabet (``types.Id``), so
    whatever the door accepts every later step accepts too; ``exp`` is a JSON number."""

    model_config = ConfigDict(frozen=True)

    sub: Id
    shop: Id
    role: Role
    exp: StrictInt


def decode_bearer(header: str | None, secret: str) -> Principal:
    """Validate an ``Authorization`` header value; any failure is a 401."""
    if not header:
        raise Unauthorized(MISSING_TOKEN)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authorization must be 'Bearer <token>'")
    principal = _verified(token.strip(), secret)
    if principal.exp <= time.time():  # checked on every use: a verified token is cached
        raise Unauthorized("token expired")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> Principal:
    """The claims of a token whose signature and claims are valid (expiry aside, which the
    caller checks each time). A client sends the same token with every request, so it is
    verified once per process; a refusal is never cached."""
    import jwt

    _quiet_short_keys()
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "shop", "role", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    try:
        return Principal.model_validate(claims)
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        raise Unauthorized(f"invalid token claims: {', '.join(names)}") from None


@functools.cache
def _quiet_short_keys() -> None:
    # API.md fixes the local default secret ("local-dev-secret"), shorter than PyJWT likes.
    import warnings

    import jwt

    category = getattr(jwt.warnings, "InsecureKeyLengthWarning", None) if hasattr(jwt, "warnings") else None
    if category is not None:
        warnings.filterwarnings("ignore", category=category)


def mint(*, role: str, shop: str, sub: str, secret: str, ttl_seconds: int = 7 * 24 * 3600) -> str:
    import jwt

    _quiet_short_keys()
    Role(role)  # refuse unknown roles early
    claims: dict[str, Any] = {"sub": sub, "shop": shop, "role": role, "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
