"""The campaign definition: the files in the repository validate, bad files are refused with
one line that says what to fix, and nothing is written when they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infrastructure.campaign_def import CAMPAIGNS_DIR, CampaignError, load, load_file

GOOD: dict[str, Any] = {
    "name": "summer",
    "region": "eu-west-1",
    "public_base_url": "https://shop.example.com",
}


def write(tmp_path: Path, data: Any, name: str = "campaign.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize("path", sorted(CAMPAIGNS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_campaign_file_in_the_repository_validates_and_names_itself(path: Path) -> None:
    definition, found = load(path.stem)
    assert definition.name == path.stem and found == path
    assert definition.base_url.startswith("https://")


def test_the_repository_has_the_double11_and_dev_campaigns() -> None:
    double11, _ = load("double11")
    assert double11.domain is not None and double11.domain.name == "double11.api.example.com"
    assert double11.function("coupons", "api").reserved_concurrency == 400
    dev, _ = load("dev")
    assert dev.domain is None and dev.public_base_url == "https://dev.shop.example.com"


def test_defaults_and_per_function_settings_merge_over_function_defaults(tmp_path: Path) -> None:
    definition = load_file(
        write(
            tmp_path,
            {
                **GOOD,
                "function_defaults": {"memory_mb": 768},
                "functions": {"coupons.queue_consumer": {"reserved_concurrency": 3}},
            },
        )
    )
    consumer = definition.function("coupons", "queue_consumer")
    assert (consumer.memory_mb, consumer.reserved_concurrency) == (768, 3)
    assert definition.function("wishlist", "api").memory_mb == 768
    assert definition.secret_name == "campaign/summer/jwt-secret"
    assert definition.stage == "summer"
    assert definition.retention.deletion_protection is True and definition.alarms.dlq_depth == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "colour: unknown key"),
        ({"alarms": {"dlq_depht": 1}}, "alarms.dlq_depht: unknown key"),
        ({"name": "Double_11"}, "name: String should match pattern"),
        ({"name": "double11-"}, "name: String should match pattern"),
        ({"name": "a-very-long-campaign-name-indeed"}, "name: String should have at most 20 characters"),
        ({"function_defaults": {"memory_mb": -512}}, "function_defaults.memory_mb: Input should be greater"),
        ({"functions": {"coupons.api": {"reserved_concurrency": -1}}}, "reserved_concurrency: Input should"),
        ({"stock_shards": 0}, "stock_shards: Input should be greater than or equal to 1"),
        ({"functions": {"payments.api": {}}}, "unknown service 'payments'"),
        ({"settlement_schedule": "every hour"}, "settlement_schedule: Value error, must be 'rate("),
        ({"settlement_schedule": "cron(99 * * * ? *)"}, "not a valid EventBridge cron expression"),
        ({"retention": {"log_days": 10}}, "retention.log_days: Value error, must be one of"),
        ({"retention": {"dlq_days": 30}}, "retention.dlq_days: Input should be less than or equal to 14"),
        ({"region": "moon-1"}, "region: String should match pattern"),
        ({"public_base_url": None}, "set public_base_url (or a domain)"),
        ({"domain": {"name": "x.example.com", "certificate_arn": "nope"}}, "domain.certificate_arn"),
    ],
)
def test_invalid_campaign_files_are_refused_with_what_to_fix(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(CampaignError) as failure:
        load_file(path)
    message = str(failure.value)
    assert expected in message and str(path) in message
    assert "\n" not in message


def test_a_file_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match=r"not valid JSON \(line 2"):
        load_file(write(tmp_path, '{"name": "summer",\n "region": }'))


def test_a_file_must_name_the_campaign_it_is_used_for(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(CampaignError, match="defines campaign 'summer', not 'winter'"):
        load("winter", path)


def test_bad_campaign_names_on_the_command_line_are_refused(tmp_path: Path, cli: Any, capsys: Any) -> None:
    assert cli("package", "../etc", "--dist", str(tmp_path / "dist")) == 1
    err = capsys.readouterr().err
    assert err.startswith("campaign package: error: bad campaign name '../etc'") and err.count("\n") == 1
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("command", ["package", "deploy", "export", "destroy", "dlq", "status"])
def test_every_command_refuses_an_invalid_file_in_one_line_before_doing_anything(
    tmp_path: Path, cli: Any, capsys: Any, command: str
) -> None:
    path = write(tmp_path, {**GOOD, "function_defaults": {"memory_mb": -1}})
    extra = ["--endpoint-url", "http://127.0.0.1:9"] if command != "package" else []
    if command == "export":
        extra += ["--to", str(tmp_path / "export")]
    status = cli(command, "summer", "--file", str(path), "--dist", str(tmp_path / "dist"), *extra)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"campaign {command}: error: {path}: function_defaults.memory_mb")
    assert err.count("\n") == 1
    assert not (tmp_path / "dist").exists() and not (tmp_path / "export").exists()


def test_a_missing_campaign_file_says_how_to_create_one(tmp_path: Path, cli: Any, capsys: Any) -> None:
    assert cli("status", "nosuch", "--endpoint-url", "http://127.0.0.1:9") == 1
    assert "nosuch.json: no such campaign file" in capsys.readouterr().err
