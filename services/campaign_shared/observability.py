"""Powertools Logger (JSON, correlation id), Metrics (EMF) and Tracer, one set per service,
built on first use so importing an app stays cheap. The route layer applies them to every
request as middleware; consumers apply them per message.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loggers: dict[str, Any] = {}
_metrics: dict[str, Any] = {}
_tracers: dict[str, Any] = {}
# Powertools Metrics keeps its metric set in shared state: guard it when threads share a process.
_metrics_lock = threading.Lock()


def _cached(cache: dict[str, Any], service: str, factory: Any) -> Any:
    found = cache.get(service)
    if found is None:
        with _lock:
            found = cache.get(service)
            if found is None:
                found = factory()
                cache[service] = found
    return found


def logger(service: str) -> Any:
    def make() -> Any:
        from aws_lambda_powertools import Logger

        return Logger(service=service)

    return _cached(_loggers, service, make)


def metrics(service: str) -> Any:
    """The service's metrics, every one with a ``campaign`` dimension (the stage: one campaign
    per stack), so two campaigns in one account never mix."""

    def make() -> Any:
        from aws_lambda_powertools import Metrics

        from campaign_shared.settings import get_settings

        made = Metrics(namespace="Campaign", service=service)
        made.set_default_dimensions(campaign=get_settings().stage)
        return made

    return _cached(_metrics, service, make)


def on_lambda() -> bool:
    import os

    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def lambda_entry(service: str, call: Any, event: Any, context: Any) -> Any:
    """A Lambda invocation of an app: Powertools' ``log_metrics`` with the cold-start metric
    (one ``ColdStart`` per container, with the function's name and the campaign) and the
    logger's Lambda context (the request id in every log line). Locally, a plain call."""
    if not on_lambda() or context is None:
        return call(event, context)
    wrapped = logger(service).inject_lambda_context(call)
    if metrics_enabled():
        wrapped = metrics(service).log_metrics(wrapped, capture_cold_start_metric=True)
    import warnings

    with warnings.catch_warnings():  # the route layer flushes its own metrics per request
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        return wrapped(event, context)  # one invocation at a time per Lambda container


def tracer(service: str) -> Any:
    def make() -> Any:
        from aws_lambda_powertools import Tracer

        return Tracer(service=service)

    return _cached(_tracers, service, make)


def metrics_enabled() -> bool:
    """Powertools' POWERTOOLS_METRICS_DISABLED switch, checked before buffering anything
    (a disabled Metrics still buffers and auto-flushes every 100 values)."""
    import os

    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() not in ("1", "true", "yes", "on")


def tracing_enabled() -> bool:
    import os

    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() not in ("1", "true", "yes", "on")


def traced(service: str, name: str, call: Any, *args: Any) -> Any:
    """Run ``call(*args)`` in an X-Ray subsegment when tracing is on (Lambda); a plain call otherwise."""
    if not tracing_enabled():
        return call(*args)
    with tracer(service).provider.in_subsegment(f"## {name}") as subsegment:
        subsegment.put_annotation(key="service", value=service)
        return call(*args)


def count(service: str, name: str, value: float = 1, flush: bool = True) -> None:
    """Add a count metric and flush (one EMF record per invocation, as in Lambda)."""
    if not metrics_enabled():
        return
    from aws_lambda_powertools.metrics import MetricUnit

    m = metrics(service)
    with _metrics_lock:
        m.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if flush:
            m.flush_metrics()


def record_request(service: str, route: str, status: int, millis: float) -> None:
    if not metrics_enabled():
        return
    from aws_lambda_powertools.metrics import MetricUnit

    m = metrics(service)
    with _metrics_lock:
        m.add_metadata(key="route", value=route)
        m.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        m.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=millis)
        if status >= 500:
            m.add_metric(name="Errors5xx", unit=MetricUnit.Count, value=1)
        elif status >= 400:
            m.add_metric(name="Errors4xx", unit=MetricUnit.Count, value=1)
        m.flush_metrics()
