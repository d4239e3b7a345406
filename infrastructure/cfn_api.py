"""API Gateway's edge of a campaign's stacks: stage throttling sized to the stock shards, API
Gateway's own answers in the error envelope (with the CORS grant), ``OPTIONS`` forwarded to the
functions (the route layer answers CORS, ``campaign_shared.cors``), JSON access logs with their
retention, and the account's CloudWatch Logs role for API Gateway (the ``campaign-account`` stack).
Used by ``cfn`` (each service's API) and ``cfn_docs`` (the docs API).
"""

from __future__ import annotations

import copy
from typing import Any

from infrastructure.campaign_def import CampaignDef

ACCOUNT_STACK = "campaign-account"


def account_template() -> dict[str, Any]:
    """API Gateway's account-level setting (one per account and region): the role it writes
    access logs to CloudWatch Logs with. Every campaign's stages need it and none owns it, so
    it is a stack of its own, ``campaign-account``: ``deploy`` creates it when it is missing
    and ``destroy`` never deletes it (the role is retained even if the stack is deleted)."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "API Gateway's CloudWatch Logs role of the account and region (access logs)",
        "Resources": {
            "ApiGatewayCloudWatchRole": {
                "Type": "AWS::IAM::Role",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "apigateway.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "ManagedPolicyArns": [
                        {
                            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                            "AmazonAPIGatewayPushToCloudWatchLogs"
                        }
                    ],
                },
            },
            "ApiGatewayAccount": {
                "Type": "AWS::ApiGateway::Account",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}},
            },
        },
        "Outputs": {"CloudWatchRoleArn": {"Value": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}}},
    }


def _gateway_response(
    status: int | None, code: str, message: str, retry: bool = False, cors: dict[str, str] | None = None
) -> dict[str, Any]:
    """What API Gateway answers itself, in the error envelope with its request id (``status``
    None: the status API Gateway chose)."""
    body = (
        '{"error": {"code": "' + code + '", "message": ' + message + ', "request_id": "$context.requestId"}}'
    )
    headers = {"Content-Type": "'application/json'", **(cors or {})}
    if retry:
        headers["Retry-After"] = "'1'"
    found: dict[str, Any] = {
        "ResponseParameters": {"Headers": headers},
        "ResponseTemplates": {"application/json": body},
    }
    if status is not None:
        found["StatusCode"] = str(status)
    return found


def gateway_cors_headers(defn: CampaignDef) -> dict[str, str]:
    """The CORS headers of API Gateway's own answers. A gateway response's headers are static
    (or copied from the request, which would grant every origin), so they carry the grant only
    when the campaign allows exactly one origin; with several, a browser page cannot read
    API Gateway's own 429/404/413 (the services' answers carry the grant whatever the number)."""
    from campaign_shared.cors import EXPOSE_HEADERS

    origins = defn.cors.allow_origins
    if not origins:
        return {}
    found = {"Vary": "'Origin'"}
    if len(origins) == 1:
        found["Access-Control-Allow-Origin"] = f"'{origins[0]}'"
        found["Access-Control-Expose-Headers"] = "'" + ", ".join(EXPOSE_HEADERS) + "'"
    return found


def gateway_responses(defn: CampaignDef) -> dict[str, Any]:
    """API Gateway's own answers (throttling, unknown routes, oversized bodies, its own
    failures), in the same envelope as the services' errors, never its bare {"message": ...}."""
    cors = gateway_cors_headers(defn)
    return {
        "THROTTLED": _gateway_response(
            429, "too_many_requests", '"too many requests; retry shortly"', retry=True, cors=cors
        ),
        "QUOTA_EXCEEDED": _gateway_response(
            429, "too_many_requests", '"quota exceeded"', retry=True, cors=cors
        ),
        "MISSING_AUTHENTICATION_TOKEN": _gateway_response(404, "not_found", '"no such route"', cors=cors),
        "REQUEST_TOO_LARGE": _gateway_response(
            413, "payload_too_large", '"request body too large"', cors=cors
        ),
        "DEFAULT_4XX": _gateway_response(None, "invalid_request", "$context.error.messageString", cors=cors),
        "DEFAULT_5XX": _gateway_response(
            None, "service_unavailable", "$context.error.messageString", retry=True, cors=cors
        ),
    }


def forward_options(body: dict[str, Any]) -> None:
    """Give every path of Chalice's API definition an ``OPTIONS`` method that proxies to the
    same function as the path's other methods, so the route layer answers preflights
    (``campaign_shared.cors``) on AWS as it does locally."""
    for methods in body.get("paths", {}).values():
        if "options" in methods:
            continue
        proxied = next(
            (m for m in methods.values() if isinstance(m, dict) and "x-amazon-apigateway-integration" in m),
            None,
        )
        if proxied is None:
            continue
        methods["options"] = {
            "consumes": ["*/*"],
            "produces": ["application/json"],
            "responses": {"204": {"description": "the route's methods; a CORS grant for an allowed origin"}},
            "x-amazon-apigateway-integration": copy.deepcopy(proxied["x-amazon-apigateway-integration"]),
        }


# The flash-grab routes: claims that take a unit of stock.
CLAIM_ROUTES = {"coupons": ("/templates/{template_id}/claim", "/share-links/{link_id}/claim")}
CLAIMS_PER_SHARD = 250  # claims/s one stock shard takes at half a partition (bench/README.md)


def method_settings(defn: CampaignDef, service: str) -> list[dict[str, Any]]:
    """Stage throttling: every route at the campaign's rate and burst; the claim routes at
    ``claim_rate`` (default: the default stock shards x 250 claims/s, what a template of that
    many shards takes) so a grab is admitted at what the stock can serve and the rest get 429
    from API Gateway before they cost a Lambda invocation or a write."""
    throttle = defn.throttle
    found: list[dict[str, Any]] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": throttle.rate,
            "ThrottlingBurstLimit": throttle.burst,
            "MetricsEnabled": True,
        }
    ]
    rate = throttle.claim_rate or min(throttle.rate, defn.stock_shards * CLAIMS_PER_SHARD)
    burst = throttle.claim_burst or min(throttle.burst, 2 * rate)
    for path in CLAIM_ROUTES.get(service, ()):
        found.append(
            {
                "ResourcePath": path.replace("/", "~1").replace("~1", "/~1", 1),
                "HttpMethod": "POST",
                "ThrottlingRateLimit": rate,
                "ThrottlingBurstLimit": burst,
                "MetricsEnabled": True,
            }
        )
    return found


# One JSON line per request in the stage's access log group (``$context`` variables, all quoted
# so that a missing value, "-", still makes valid JSON).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "userAgent": "$context.identity.userAgent",
    "error": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}
ACCESS_LOG_FORMAT = "{" + ",".join(f'"{k}":"{v}"' for k, v in ACCESS_LOG_FIELDS.items()) + "}"


def access_log_group_name(campaign: str, api: str) -> str:
    return f"/aws/apigateway/campaign-{campaign}-{api}/access"


def access_log(res: dict[str, Any], defn: CampaignDef, api: str, logical: str = "ApiAccessLogGroup") -> dict:
    """The stage's access log group (retained ``retention.log_days``), and the stage's
    ``AccessLogSetting`` pointing at it. API Gateway writes it with the account's CloudWatch
    role (the ``campaign-account`` stack, ``account_template``)."""
    res[logical] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": access_log_group_name(defn.name, api),
            "RetentionInDays": defn.retention.log_days,
        },
    }
    destination = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${" + logical + "}"
    return {"DestinationArn": {"Fn::Sub": destination}, "Format": ACCESS_LOG_FORMAT}
