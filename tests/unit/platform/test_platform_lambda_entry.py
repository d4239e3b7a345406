"""On Lambda, an app's invocation runs through Powertools' ``log_metrics`` with the cold-start
metric, and every metric carries the campaign (the stage) as a dimension; locally, nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace

from campaign_shared import observability
from campaign_shared.settings import Settings, configure


def _context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="campaign-double11-coupons-api",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:campaign-double11-coupons-api",
        aws_request_id="req-1",
    )


def test_a_lambda_invocation_counts_its_cold_start_once_with_the_campaign(monkeypatch, capsys):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "campaign-double11-coupons-api")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    configure(Settings(stage="double11"))
    observability._metrics.pop("lambda-test", None)
    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.setattr(cold_start, "is_cold_start", True)
    try:
        answers = []
        for _ in range(2):
            answers.append(
                observability.lambda_entry("lambda-test", lambda event, context: {"ok": event}, 7, _context())
            )
            observability.record_request("lambda-test", "GET /x", 200, 1.0)
        assert answers == [{"ok": 7}, {"ok": 7}]
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        metrics = [m["Name"] for r in records for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        assert metrics.count("ColdStart") == 1 and metrics.count("Requests") == 2
        cold = next(r for r in records if "ColdStart" in r)
        assert cold["function_name"] == "campaign-double11-coupons-api"
        assert all(r["campaign"] == "double11" for r in records if "Requests" in r)
    finally:
        configure(None)
        observability._metrics.pop("lambda-test", None)


def test_outside_lambda_it_is_a_plain_call(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert observability.lambda_entry("lambda-test", lambda event, context: event * 2, 21, None) == 42
