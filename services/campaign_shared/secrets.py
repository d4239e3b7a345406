"""The JWT signing secret.

On AWS it lives in Secrets Manager (``CAMPAIGN_JWT_SECRET_NAME``) and is read with Powertools
Parameters, cached ``MAX_AGE_SECONDS`` per container: a rotated secret is in use everywhere
within that time, with no redeploy. A token that fails its signature check makes the process
read the secret again, at most once per ``REFRESH_SECONDS``, so a token signed with a secret
rotated a moment ago is accepted at once (and bad tokens cannot make it call Secrets Manager
more often than that). Locally and in tests it comes from ``CAMPAIGN_JWT_SECRET``.
"""

from __future__ import annotations

import threading
import time

from campaign_shared.settings import get_settings

MAX_AGE_SECONDS = 300
REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_last_refresh = 0.0


def jwt_secret() -> str:
    settings = get_settings()
    if not settings.jwt_secret_name:
        return settings.jwt_secret
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(settings.jwt_secret_name, max_age=MAX_AGE_SECONDS))


def refreshed_jwt_secret() -> str | None:
    """The secret read again now, or None when it is not kept in Secrets Manager or was read
    again less than ``REFRESH_SECONDS`` ago."""
    global _last_refresh
    settings = get_settings()
    if not settings.jwt_secret_name:
        return None
    with _lock:
        now = time.monotonic()
        if now - _last_refresh < REFRESH_SECONDS:
            return None
        _last_refresh = now
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(settings.jwt_secret_name, max_age=MAX_AGE_SECONDS, force_fetch=True))
