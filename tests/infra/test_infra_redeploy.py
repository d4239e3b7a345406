"""Deploy after destroy: the tables a destroy retained keep their data, and a new deploy of
the same campaign finds them before it creates anything."""

from __future__ import annotations

import json
from typing import Any

from campaign_shared.resources import table_name
from infrastructure.dev.apps import SERVICE_NAMES

NAME = "infra1"


def test_deploy_after_destroy_refuses_in_one_line_then_succeeds_once_the_tables_are_deleted(
    packaged: Any, new_moto: Any, tmp_path: Any, cli: Any, capsys: Any
) -> None:
    moto = new_moto()
    args = ["--file", str(packaged.file), "--endpoint-url", moto.url]
    dist = ["--dist", str(packaged.dist)]
    assert cli("deploy", NAME, "--dist", str(packaged.dist), *args) == 0
    dynamodb = moto.client("dynamodb")
    coupons = table_name(NAME, "coupons", "main")
    dynamodb.put_item(
        TableName=coupons, Item={"pk": {"S": "tpl#s1#t1"}, "sk": {"S": "meta"}, "n": {"N": "7"}}
    )
    assert cli("export", NAME, "--to", str(tmp_path / "x"), "--dist", str(packaged.dist), *args) == 0
    assert cli("destroy", NAME, "--dist", str(packaged.dist), *args) == 0
    capsys.readouterr()
    assert cli("deploy", NAME, "--dist", str(packaged.dist), *args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"campaign deploy: error: campaign {NAME} has " in err
    assert "tables kept from a destroyed deployment" in err and "nothing was created" in err
    cfn = moto.client("cloudformation")
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert [s["StackName"] for s in live] == ["campaign-account"]  # the account's, never destroyed
    assert table_name(NAME, "coupons", "main") in moto.client("dynamodb").list_tables()["TableNames"]
    assert "`campaign destroy infra1 --delete-tables`" in err

    # The operator's way back (infrastructure/README.md): delete the kept tables, the export
    # verified against them first; then deploy again, and import the export if the data is wanted.
    assert cli("destroy", NAME, *dist, *args, "--delete-tables") == 0
    out = capsys.readouterr().out
    assert f"{coupons}: table deleted" in out
    names = set(dynamodb.list_tables()["TableNames"])
    assert not any(n.startswith(f"campaign-{NAME}-") for n in names)
    assert cli("destroy", NAME, *dist, *args, "--delete-tables") == 1  # nothing left to destroy
    assert "has no stacks or tables" in capsys.readouterr().err

    assert cli("deploy", NAME, *dist, *args) == 0
    live = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert set(live) == {"campaign-account", *(f"campaign-{NAME}-{p}" for p in ["shared", *SERVICE_NAMES])}
    assert set(live.values()) == {"CREATE_COMPLETE"}
    assert dynamodb.scan(TableName=coupons)["Count"] == 0
    assert cli("import", NAME, "--from", str(tmp_path / "x"), *dist, *args) == 0
    (found,) = dynamodb.scan(TableName=coupons)["Items"]
    assert found["n"] == {"N": "7"}
    capsys.readouterr()
    assert cli("status", NAME, *dist, *args, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert {p: s["status"] for p, s in report["stacks"].items()} == {
        p: "CREATE_COMPLETE" for p in ["shared", *SERVICE_NAMES]
    }
    assert report["docs_url"].startswith("https://") and report["docs_url"].endswith("/docs/")


def test_an_unexpected_failure_is_one_line_too(
    packaged: Any, cli: Any, capsys: Any, monkeypatch: Any
) -> None:
    from infrastructure import operations

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a bug\nover two lines")

    monkeypatch.setattr(operations, "connect", broken)
    args = ["--file", str(packaged.file), "--endpoint-url", "http://127.0.0.1:9"]
    assert cli("status", NAME, "--dist", str(packaged.dist), *args) == 1
    err = capsys.readouterr().err
    assert err == (
        "campaign status: error: unexpected ValueError talking to http://127.0.0.1:9: a bug over two "
        "lines (CAMPAIGN_DEBUG=1 shows the traceback)\n"
    )
