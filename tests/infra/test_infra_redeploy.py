"""Deploy after destroy: the tables a destroy retained keep their data, and a new deploy of
the same campaign finds them before it creates anything."""

from __future__ import annotations

from typing import Any

from campaign_shared.resources import table_name

NAME = "infra1"


def test_deploy_after_destroy_refuses_in_one_line_before_creating_anything(
    packaged: Any, new_moto: Any, tmp_path: Any, cli: Any, capsys: Any
) -> None:
    moto = new_moto()
    args = ["--file", str(packaged.file), "--endpoint-url", moto.url]
    assert cli("deploy", NAME, "--dist", str(packaged.dist), *args) == 0
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
    assert live == []
    assert table_name(NAME, "coupons", "main") in moto.client("dynamodb").list_tables()["TableNames"]


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
