from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaign_shared import clock, ids
from campaign_shared.errors import InvalidRequest
from campaign_shared.settings import Settings, configure
from campaign_shared.storage import codec, failures, paging
from infrastructure.schedules import next_run


@pytest.fixture(autouse=True)
def settings():
    configure(Settings(jwt_secret="unit-secret-0123456789"))
    yield
    configure(None)


def test_cursor_round_trip_and_tamper_refusal():
    key = {"pk": {"S": "shop#s1"}, "sk": {"S": "item#42"}}
    cursor = paging.encode_cursor(key)
    assert paging.decode_cursor(cursor) == key
    assert paging.encode_cursor(None) is None and paging.decode_cursor(None) is None
    forged = paging.encode_cursor({"pk": {"S": "shop#other"}})
    configure(Settings(jwt_secret="another-secret-0123"))
    with pytest.raises(InvalidRequest):
        paging.decode_cursor(forged)
    for junk in ("!!!", "abc", "a" * 40):
        with pytest.raises(InvalidRequest):
            paging.decode_cursor(junk)


def test_item_conversion_keeps_ints():
    data = {"a": 1, "b": "x", "c": [1, 2], "d": {"e": True}, "skip": None}
    item = codec.to_item(data)
    assert "skip" not in item
    assert codec.from_item(item) == {"a": 1, "b": "x", "c": [1, 2], "d": {"e": True}}


def test_translate_storage_errors():
    from botocore.exceptions import ClientError, EndpointConnectionError

    def err(code, status=400):
        return ClientError(
            {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
        )

    assert failures.translate(err("ConditionalCheckFailedException")).status == 409
    throttled = failures.translate(err("ProvisionedThroughputExceededException"))
    assert throttled.status == 503 and throttled.headers["Retry-After"] == "1"
    assert failures.translate(err("InternalServerError", 500)).status == 503
    assert failures.translate(err("ValidationException")) is None
    assert failures.translate(EndpointConnectionError(endpoint_url="http://x")).status == 503
    assert failures.translate(ValueError("x")) is None


def test_ids_are_unique_and_tokens_long_enough():
    made = {ids.new_id("c_") for _ in range(2000)}
    assert len(made) == 2000 and all(i.startswith("c_") and len(i) == 28 for i in made)
    assert len(ids.token()) >= 22  # 144 bits, URL-safe


def test_clock_round_trip():
    moment = datetime(2026, 11, 11, 0, 0, 5, tzinfo=UTC)
    assert clock.iso(moment) == "2026-11-11T00:00:05Z"
    assert clock.parse("2026-11-11T08:00:05+08:00") == moment


def test_schedule_expressions():
    start = datetime(2026, 11, 11, 1, 30, tzinfo=UTC)
    assert next_run("rate(5 minutes)", start) == datetime(2026, 11, 11, 1, 35, tzinfo=UTC)
    assert next_run("rate(1 day)", start) == datetime(2026, 11, 12, 1, 30, tzinfo=UTC)
    assert next_run("cron(0 2 * * ? *)", start) == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    # AWS counts days of the week from Sunday = 1: 2 is Monday; 2026-11-11 is a Wednesday.
    assert next_run("cron(0 2 ? * 2 *)", start) == datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        next_run("every day", start)


def test_settings_validate_environment():
    settings = Settings.from_env({"CAMPAIGN_STAGE": "double11", "CAMPAIGN_STOCK_SHARDS": "8"})
    assert settings.stage == "double11" and settings.stock_shards == 8
    with pytest.raises(ValueError):
        Settings.from_env({"CAMPAIGN_STAGE": "Bad Stage!"})
