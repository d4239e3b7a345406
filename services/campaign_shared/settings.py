"""Validated settings, read lazily from the environment.

Every service reads the same few variables; per-service resource names are derived
from the stage by the one resource definition (``campaign_shared.naming``), so four
apps in one process never need different values of the same environment variable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

Stage = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage = "local"
    region: str = "us-east-1"
    account_id: str = Field(default="123456789012", pattern=r"^\d{12}$")
    jwt_secret: str = Field(default="local-dev-secret", min_length=8, repr=False)
    # On AWS: the Secrets Manager secret holding it (read by ``campaign_shared.secrets``, cached
    # and rotatable without a redeploy); the secret itself is then never in the environment.
    jwt_secret_name: str | None = None
    # Set locally to the embedded moto server; unset on AWS.
    aws_endpoint_url: str | None = None
    # The public base URL of the gateway, used to build share/referral URLs.
    public_base_url: str = "http://127.0.0.1:8000"
    # Shards per coupon template stock counter (see DESIGN.md: hot partitions).
    stock_shards: int = Field(default=4, ge=1, le=100)
    # Idempotency records live this long (seconds).
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # Browser origins granted CORS (the campaign definition's ``cors``; ``campaign_shared.cors``).
    cors_allow_origins: tuple[str, ...] = ()
    cors_max_age: int = Field(default=600, ge=0, le=86400)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        mapping = {
            "stage": "CAMPAIGN_STAGE",
            "region": "AWS_DEFAULT_REGION",
            "account_id": "CAMPAIGN_ACCOUNT_ID",
            "jwt_secret": "CAMPAIGN_JWT_SECRET",
            "jwt_secret_name": "CAMPAIGN_JWT_SECRET_NAME",
            "aws_endpoint_url": "CAMPAIGN_AWS_ENDPOINT_URL",
            "public_base_url": "CAMPAIGN_PUBLIC_BASE_URL",
            "stock_shards": "CAMPAIGN_STOCK_SHARDS",
            "idempotency_ttl_seconds": "CAMPAIGN_IDEMPOTENCY_TTL_SECONDS",
            "cors_max_age": "CAMPAIGN_CORS_MAX_AGE",
        }
        for field, var in mapping.items():
            if env.get(var):
                values[field] = env[var]
        if env.get("CAMPAIGN_CORS_ALLOW_ORIGINS"):
            from campaign_shared.cors import parse_origins

            values["cors_allow_origins"] = parse_origins(env["CAMPAIGN_CORS_ALLOW_ORIGINS"])
        return cls.model_validate(values)


class SettingsError(RuntimeError):
    """The environment does not describe a valid configuration."""


_lock = threading.Lock()
_current: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, built on first use (never at import)."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                try:
                    _current = Settings.from_env()
                except ValidationError as exc:  # pragma: no cover - message path
                    raise SettingsError(f"invalid campaign settings: {exc}") from exc
    return _current


_listeners: list[Callable[[], None]] = []


def on_configure(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever settings are replaced (the AWS clients drop their cache), so
    that this module needs to know nothing of who depends on it."""
    _listeners.append(listener)


def configure(settings: Settings | None) -> None:
    """Install explicit settings (local stack, tests); ``None`` re-reads the environment."""
    global _current
    with _lock:
        _current = settings
    for listener in list(_listeners):
        listener()


def public_url(path: str) -> str:
    """A public URL of the stack: ``public_base_url`` and ``path`` (which starts with ``/``)."""
    return get_settings().public_base_url.rstrip("/") + path
