"""``campaign deploy`` refuses what it must not do, in one line, before changing anything."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

NAME = "infra1"


@pytest.fixture(scope="module")
def empty(new_moto: Any) -> Any:
    """One moto for the module: a refusal leaves it as it found it (the stack of another
    campaign is added on purpose, by the test that comes after the others using it)."""
    return new_moto()


def write_definition(tmp_path: Path, packaged: Any, **changes: Any) -> Path:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps({**json.loads(packaged.file.read_text()), **changes}))
    return path


def test_deploy_refuses_a_file_that_names_another_campaign(
    tmp_path: Path, packaged: Any, empty: Any, cli: Any, capsys: Any
) -> None:
    path = write_definition(tmp_path, packaged, name="other")
    status = cli(
        "deploy", NAME, "--file", str(path), "--dist", str(packaged.dist), "--endpoint-url", empty.url
    )
    err = capsys.readouterr().err
    assert status == 1 and "defines campaign 'other', not 'infra1'" in err and err.count("\n") == 1
    assert empty.client("cloudformation").describe_stacks()["Stacks"] == []


def test_deploy_refuses_a_definition_changed_since_it_was_packaged(
    tmp_path: Path, packaged: Any, empty: Any, cli: Any, capsys: Any
) -> None:
    path = write_definition(tmp_path, packaged, stock_shards=3)
    status = cli(
        "deploy", NAME, "--file", str(path), "--dist", str(packaged.dist), "--endpoint-url", empty.url
    )
    assert status == 1 and "run `campaign package infra1` again" in capsys.readouterr().err
    assert empty.client("cloudformation").describe_stacks()["Stacks"] == []


def test_deploy_refuses_a_busy_account_stack_in_one_line_before_creating_anything(
    packaged: Any, empty: Any, cli: Any, capsys: Any, monkeypatch: Any
) -> None:
    from infrastructure import deploy

    real = deploy.describe_stack

    def busy(target: Any, name: str) -> Any:
        if name == "campaign-account":
            return {"StackName": name, "StackStatus": "UPDATE_IN_PROGRESS", "Tags": []}
        return real(target, name)

    monkeypatch.setattr(deploy, "describe_stack", busy)
    assert cli("deploy", NAME, *packaged.cli("--endpoint-url", empty.url)) == 1
    err = capsys.readouterr().err
    assert err == (
        "campaign deploy: error: stack campaign-account is UPDATE_IN_PROGRESS: wait for it to finish "
        "(or fix it in the console), then retry\n"
    )
    assert empty.client("cloudformation").describe_stacks()["Stacks"] == []
    assert empty.client("s3").list_buckets()["Buckets"] == []
    assert empty.client("secretsmanager").list_secrets()["SecretList"] == []


def test_deploy_refuses_to_update_a_stack_of_another_campaign(
    packaged: Any, empty: Any, cli: Any, capsys: Any
) -> None:
    cf = empty.client("cloudformation")
    cf.create_stack(
        StackName=f"campaign-{NAME}-shared",
        Tags=[{"Key": "campaign", "Value": "other"}],
        TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}),
    )
    assert cli("deploy", NAME, *packaged.cli("--endpoint-url", empty.url)) == 1
    assert "stack campaign-infra1-shared belongs to campaign 'other'" in capsys.readouterr().err
    assert [s["StackName"] for s in cf.describe_stacks()["Stacks"]] == [f"campaign-{NAME}-shared"]
    assert empty.client("s3").list_buckets()["Buckets"] == []


def test_an_unreachable_endpoint_is_one_line_and_quick(packaged: Any, cli: Any, capsys: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    assert cli("deploy", NAME, *packaged.cli("--endpoint-url", f"http://127.0.0.1:{port}")) == 1
    err = capsys.readouterr().err
    assert (
        err == f"campaign deploy: error: cannot reach http://127.0.0.1:{port}: start it, or fix "
        "--endpoint-url / the network\n"
    )
    assert time.monotonic() - started < 20
