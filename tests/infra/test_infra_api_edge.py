"""The deployed API's edge, in the packaged templates: CORS from the campaign file, JSON access
logs with a retention, the account's CloudWatch role, and the docs (function, API, zip)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infrastructure import cfn_api
from infrastructure.campaign_def import CampaignError, load_file
from infrastructure.dev.apps import SERVICE_NAMES

ORIGIN = "https://shop.example.com"  # the tests' campaign allows this one origin (conftest)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_function_gets_the_allowed_origins_and_every_path_forwards_options(packaged: Any) -> None:
    for service in SERVICE_NAMES:
        template = packaged.template(service)
        for function in resources(template, "AWS::Lambda::Function").values():
            env = function["Properties"]["Environment"]["Variables"]
            assert env["CAMPAIGN_CORS_ALLOW_ORIGINS"] == ORIGIN
            assert env["CAMPAIGN_CORS_MAX_AGE"] == "900"
        (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
        paths = api["Properties"]["Body"]["paths"]
        assert paths
        for path, methods in paths.items():
            options = methods["options"]["x-amazon-apigateway-integration"]
            other = next(m for verb, m in methods.items() if verb != "options")
            assert options == other["x-amazon-apigateway-integration"], path
            assert options["type"] == "aws_proxy"


def test_api_gateways_own_answers_carry_the_grant_of_the_one_allowed_origin(packaged: Any) -> None:
    for service in SERVICE_NAMES:
        (api,) = resources(packaged.template(service), "AWS::ApiGateway::RestApi").values()
        found = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
        for kind in (
            "THROTTLED",
            "MISSING_AUTHENTICATION_TOKEN",
            "REQUEST_TOO_LARGE",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
        ):
            headers = found[kind]["responseParameters"]
            assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{ORIGIN}'"
            assert headers["gatewayresponse.header.Vary"] == "'Origin'"
            assert "Retry-After" in headers["gatewayresponse.header.Access-Control-Expose-Headers"]


def test_gateway_responses_grant_nothing_without_origins_and_no_single_origin_for_several(
    packaged: Any,
) -> None:
    none = packaged.definition.model_copy(
        update={"cors": packaged.definition.cors.model_copy(update={"allow_origins": ()})}
    )
    assert cfn_api.gateway_cors_headers(none) == {}
    assert "Vary" not in cfn_api.gateway_responses(none)["THROTTLED"]["ResponseParameters"]["Headers"]
    several = packaged.definition.model_copy(
        update={
            "cors": packaged.definition.cors.model_copy(
                update={"allow_origins": (ORIGIN, "https://b.example.com")}
            )
        }
    )
    # API Gateway cannot choose among several origins in its own answers: Vary only, no grant
    assert cfn_api.gateway_cors_headers(several) == {"Vary": "'Origin'"}


def test_every_stage_writes_json_access_logs_to_a_log_group_with_the_campaigns_retention(
    packaged: Any,
) -> None:
    for part in [*SERVICE_NAMES, "shared"]:
        template = packaged.template(part)
        stages = resources(template, "AWS::ApiGateway::Stage")
        assert stages, part
        groups = resources(template, "AWS::Logs::LogGroup")
        for stage in stages.values():
            setting = stage["Properties"]["AccessLogSetting"]
            fields = json.loads(setting["Format"])
            assert {
                "requestId",
                "ip",
                "method",
                "path",
                "status",
                "latencyMs",
                "protocol",
                "userAgent",
            } <= set(fields)
            assert fields["requestId"] == "$context.requestId" and fields["status"] == "$context.status"
            destination = setting["DestinationArn"]["Fn::Sub"]
            logical = destination.rsplit("${", 1)[1].rstrip("}")
            group = groups[logical]["Properties"]
            assert destination.startswith("arn:${AWS::Partition}:logs:")
            assert group["RetentionInDays"] == 7  # retention.log_days of the tests' campaign
            api = "docs" if part == "shared" else part
            assert group["LogGroupName"] == f"/aws/apigateway/campaign-infra1-{api}/access"
            assert stage["Properties"]["TracingEnabled"] is True


def test_the_account_stack_gives_api_gateway_its_cloudwatch_role_and_is_retained(packaged: Any) -> None:
    manifest = packaged.manifest
    assert manifest["account"] == {"stack": "campaign-account", "template": "account/template.json"}
    template = json.loads((packaged.out / "account" / "template.json").read_text())
    (account,) = resources(template, "AWS::ApiGateway::Account").values()
    (role,) = resources(template, "AWS::IAM::Role").values()
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
    statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (policy,) = role["Properties"]["ManagedPolicyArns"]
    assert policy["Fn::Sub"].endswith(":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"


def test_the_account_template_passes_cfn_lint(packaged: Any) -> None:
    linter = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run(
        [
            str(linter),
            "--format",
            "json",
            "--regions",
            "us-east-1",
            "--",
            str(packaged.out / "account" / "template.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(done.stdout or "[]") == []


def test_the_shared_stack_serves_the_docs_from_a_function_of_its_own(packaged: Any) -> None:
    template = packaged.template("shared")
    res = template["Resources"]
    function = res["DocsFunction"]["Properties"]
    assert function["Handler"] == "campaign_shared.docs.lambda_handler"
    assert function["Code"]["S3Key"] == packaged.manifest["docs"]["key"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    paths = {r["Properties"]["PathPart"] for r in resources(template, "AWS::ApiGateway::Resource").values()}
    assert paths == {"openapi.json", "assets", "{file}"}
    methods = resources(template, "AWS::ApiGateway::Method")
    assert len(methods) == 3 and all(m["Properties"]["HttpMethod"] == "GET" for m in methods.values())
    assert all(m["Properties"]["Integration"]["Type"] == "AWS_PROXY" for m in methods.values())
    # the tests' campaign has a custom domain: the docs are at https://DOMAIN/docs/
    assert res["DocsBasePathMapping"]["Properties"]["BasePath"] == "docs"
    assert template["Outputs"]["DocsUrl"] == {"Value": "https://infra1.api.example.com/docs/"}
    role = res["DocsRole"]["Properties"]
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"][0]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_the_docs_zip_holds_the_handler_the_document_of_every_service_and_swagger_ui(packaged: Any) -> None:
    with zipfile.ZipFile(packaged.out / packaged.manifest["docs"]["file"]) as archive:
        names = set(archive.namelist())
        assert names == {
            "campaign_shared/__init__.py",
            "campaign_shared/docs.py",
            "docs/openapi.json",
            "docs/assets/swagger-ui-bundle.js",
            "docs/assets/swagger-ui.css",
        }
        document = json.loads(archive.read("docs/openapi.json"))
        bundle = archive.read("docs/assets/swagger-ui-bundle.js")
    assert document["servers"] == [{"url": "https://infra1.api.example.com"}]
    assert {p.split("/")[1] for p in document["paths"]} == set(SERVICE_NAMES)
    assert b"SwaggerUIBundle" in bundle and len(bundle) > 500_000


def test_the_packaged_docs_function_answers_as_lambda_would(packaged: Any, tmp_path: Path) -> None:
    """Unzipped with nothing else on the path (no site-packages), the handler serves the page,
    the document and the assets under the base path it was reached at."""
    with zipfile.ZipFile(packaged.out / packaged.manifest["docs"]["file"]) as archive:
        archive.extractall(tmp_path)
    script = (
        "import json, os, sys\n"
        "sys.path.insert(0, os.environ['LAMBDA_TASK_ROOT'])\n"
        "from campaign_shared.docs import lambda_handler\n"
        "out = {}\n"
        "seen = {'/': '/docs/', '/openapi.json': '/docs/openapi.json',\n"
        "        '/assets/swagger-ui.css': '/api/assets/swagger-ui.css', '/nope': '/api/nope'}\n"
        "for path, where in seen.items():\n"
        "    context = {'path': where, 'requestId': 'r1'}\n"
        "    answer = lambda_handler({'httpMethod': 'GET', 'path': path, 'requestContext': context}, None)\n"
        "    kind = answer['headers']['Content-Type']\n"
        "    out[path] = [answer['statusCode'], kind, answer['body'][:4000]]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=tmp_path,
        env={"LAMBDA_TASK_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    status, kind, page = out["/"]
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert 'href="/docs/assets/swagger-ui.css"' in page and 'src="/docs/assets/swagger-ui-bundle.js"' in page
    assert 'url: "/docs/openapi.json"' in page and "cdn" not in page.lower() and "https://" not in page
    assert out["/openapi.json"][:2] == [200, "application/json"]
    assert out["/assets/swagger-ui.css"][:2] == [200, "text/css; charset=utf-8"]
    status, kind, body = out["/nope"]
    assert status == 404 and json.loads(body)["error"] == {
        "code": "not_found",
        "message": "no such docs page",
        "request_id": "r1",
    }


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        (["*"], "'*' would let every web site call the API"),
        (["https://shop.example.com/"], "is not an origin"),
        (["shop.example.com"], "is not an origin"),
        (["https://a.example.com", "https://a.example.com"], "an origin is listed twice"),
    ],
)
def test_bad_cors_origins_are_refused_with_what_to_fix(
    tmp_path: Path, packaged: Any, origins: list[str], message: str
) -> None:
    data = json.loads(packaged.file.read_text())
    data["cors"] = {"allow_origins": origins}
    path = tmp_path / "infra1.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CampaignError, match=r"cors\.allow_origins: Value error, ") as raised:
        load_file(path)
    assert message in str(raised.value)


def test_campaign_local_refuses_a_bad_definition_in_one_line_before_starting(
    tmp_path: Path, cli: Any, capsys: Any
) -> None:
    bad = tmp_path / "dev.json"
    bad.write_text(
        json.dumps(
            {
                "name": "dev",
                "region": "us-east-1",
                "public_base_url": "https://x.example.com",
                "cors": {"allow_origins": ["*"]},
            }
        )
    )
    assert cli("local", "--no-data", "--file", str(bad)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("campaign local: error: ")
    assert "cors.allow_origins: Value error, '*' would let every web site call the API" in err
    assert cli("local", "--no-data", "--campaign", "nosuch") == 1
    assert "nosuch.json: no such campaign file" in capsys.readouterr().err
