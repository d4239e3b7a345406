"""The campaign's API docs on AWS, in its shared stack: a small function
(``campaign_shared.docs.lambda_handler``) whose code zip holds the OpenAPI document generated
at package time and Swagger UI's files, behind a REST API of its own with three routes:

- ``GET /``: the docs page; ``GET /openapi.json``: the document; ``GET /assets/{file}``: the
  page's JavaScript and CSS (never from a CDN).

Plain API Gateway resources (no OpenAPI body), so an emulator's CloudFormation creates them
too. With a custom domain the API is mapped at ``https://DOMAIN/docs/``; else its own URL.
The stage is traced, throttled at the campaign's rate and writes JSON access logs like the
services' stages.
"""

from __future__ import annotations

from typing import Any

from infrastructure.campaign_def import CampaignDef
from infrastructure.cfn_api import access_log

DOCS_BASE_PATH = "docs"
HANDLER = "campaign_shared.docs.lambda_handler"
EXECUTE_API = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"


def _method(resource: dict[str, Any]) -> dict[str, Any]:
    uri = (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${DocsFunction.Arn}/invocations"
    )
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "DocsApi"},
            "ResourceId": resource,
            "HttpMethod": "GET",
            "AuthorizationType": "NONE",
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": {"Fn::Sub": uri}},
        },
    }


def docs_resources(
    defn: CampaignDef, docs_key: str, bucket_param: str, runtime: str, api_stage: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The docs function, its role and log group, its API, stage and (with a domain) mapping."""
    from infrastructure import cfn

    name = f"campaign-{defn.name}-docs"
    res: dict[str, Any] = {
        "DocsLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": defn.retention.log_days},
        },
        "DocsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [cfn.XRAY_WRITE_POLICY],
                "Policies": [
                    {
                        "PolicyName": "docs-own-logs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": {"Fn::GetAtt": ["DocsLogGroup", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "DocsFunction": {
            "Type": "AWS::Lambda::Function",
            "DependsOn": ["DocsLogGroup"],
            "Properties": {
                "FunctionName": name,
                "Description": "The campaign's OpenAPI document and docs page",
                "Runtime": runtime,
                "Handler": HANDLER,
                "Code": {"S3Bucket": {"Ref": bucket_param}, "S3Key": docs_key},
                "MemorySize": 256,
                "Timeout": 10,
                "Role": {"Fn::GetAtt": ["DocsRole", "Arn"]},
                "TracingConfig": {"Mode": "Active"},
            },
        },
        "DocsApi": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": name,
                "Description": "The campaign's API docs",
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
            },
        },
        "DocsOpenApiResource": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "DocsApi"},
                "ParentId": {"Fn::GetAtt": ["DocsApi", "RootResourceId"]},
                "PathPart": "openapi.json",
            },
        },
        "DocsAssetsResource": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "DocsApi"},
                "ParentId": {"Fn::GetAtt": ["DocsApi", "RootResourceId"]},
                "PathPart": "assets",
            },
        },
        "DocsAssetResource": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "DocsApi"},
                "ParentId": {"Ref": "DocsAssetsResource"},
                "PathPart": "{file}",
            },
        },
        "DocsPageMethod": _method({"Fn::GetAtt": ["DocsApi", "RootResourceId"]}),
        "DocsOpenApiMethod": _method({"Ref": "DocsOpenApiResource"}),
        "DocsAssetMethod": _method({"Ref": "DocsAssetResource"}),
        "DocsPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "DocsFunction"},
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": EXECUTE_API + "${DocsApi}/*"},
            },
        },
        "DocsDeployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["DocsPageMethod", "DocsOpenApiMethod", "DocsAssetMethod"],
            "Properties": {"RestApiId": {"Ref": "DocsApi"}, "Description": docs_key},
        },
    }
    res["DocsStage"] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "RestApiId": {"Ref": "DocsApi"},
            "DeploymentId": {"Ref": "DocsDeployment"},
            "StageName": api_stage,
            "TracingEnabled": True,
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": defn.throttle.rate,
                    "ThrottlingBurstLimit": defn.throttle.burst,
                    "MetricsEnabled": True,
                }
            ],
            "AccessLogSetting": access_log(res, defn, "docs", "DocsAccessLogGroup"),
        },
    }
    outputs: dict[str, Any] = {}
    if defn.domain is not None:
        res["DocsBasePathMapping"] = {
            "Type": "AWS::ApiGateway::BasePathMapping",
            "DependsOn": ["DocsStage", "ApiDomain"],
            "Properties": {
                "DomainName": defn.domain.name,
                "RestApiId": {"Ref": "DocsApi"},
                "Stage": api_stage,
                "BasePath": DOCS_BASE_PATH,
            },
        }
        outputs["DocsUrl"] = {"Value": f"https://{defn.domain.name}/{DOCS_BASE_PATH}/"}
    else:
        url = "https://${DocsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + api_stage + "/"
        outputs["DocsUrl"] = {"Value": {"Fn::Sub": url}}
    return res, outputs
