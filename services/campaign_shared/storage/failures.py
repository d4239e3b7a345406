"""What a storage failure means: a refused condition, a transient failure worth a retry, or
the API error to answer with (conditional failure -> 409, throttling or a failing
dependency -> 503). The route layer and the message consumers translate with ``translate``."""

from __future__ import annotations

from typing import Any

from campaign_shared.errors import ApiError, Conflict, ServiceUnavailable

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
        "Throttling",
        "TransactionInProgressException",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalError",
    }
)


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_conditional_failure(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def is_cancelled_transaction(exc: BaseException) -> bool:
    return error_code(exc) == "TransactionCanceledException"


def cancellation_reasons(exc: BaseException) -> list[str]:
    """Per-item codes of a cancelled TransactWriteItems (``"None"`` where the item was fine)."""
    response = getattr(exc, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]


def cancellation_items(exc: BaseException) -> list[dict[str, Any] | None]:
    """Per-item old images of a cancelled transaction (``ReturnValuesOnConditionCheckFailure``)."""
    from campaign_shared.storage.codec import from_item

    response = getattr(exc, "response", None) or {}
    return [from_item(r.get("Item")) for r in response.get("CancellationReasons") or []]


def old_item(exc: BaseException) -> dict[str, Any] | None:
    """The item a failed conditional write saw (``ReturnValuesOnConditionCheckFailure=ALL_OLD``)."""
    from campaign_shared.storage.codec import from_item

    response = getattr(exc, "response", None) or {}
    return from_item(response.get("Item"))


def translate(exc: BaseException) -> ApiError | None:
    """The API error a storage failure means, or ``None`` when it is not a storage failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = error_code(exc) or ""
        if code == "ConditionalCheckFailedException":
            return Conflict("the resource changed; retry the request", code="conflict")
        if code == "TransactionCanceledException":
            reasons = cancellation_reasons(exc)
            if any(r in RETRYABLE_CODES or r == "TransactionConflict" for r in reasons):
                return ServiceUnavailable("storage is busy; retry shortly")
            return Conflict("the resource changed; retry the request", code="conflict")
        if code in RETRYABLE_CODES or "Throttl" in code:
            return ServiceUnavailable("a dependency is busy; retry shortly")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        if status >= 500:
            return ServiceUnavailable("a dependency failed; retry shortly")
        return None
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailable("a dependency could not be reached; retry shortly")
    return None


def is_transient(exc: BaseException) -> bool:
    """A failure a retry may cure: throttling, a 5xx, a connection failure, a transaction that
    lost a race. Never a refused condition."""
    return isinstance(translate(exc), ServiceUnavailable)
