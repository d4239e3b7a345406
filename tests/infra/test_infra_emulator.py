"""How a template is adapted for moto: nothing is dropped without being reported."""

from __future__ import annotations

from typing import Any

from infrastructure.deploy import META, adapt, references

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "a", "Body": {"swagger": "2.0"}}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "DependsOn": ["Queue", "Stage"],
            "Properties": {"SourceArn": {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${Api}/*"}},
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "DependsOn": "Stage",
            "Properties": {"FunctionName": "f"},
        },
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "FunctionName": {"Ref": "Function"},
                "Enabled": True,
            },
        },
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "x"}},
        "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {"Endpoint": {"Fn::GetAtt": "Queue.Arn"}}},
        "Widget": {"Type": "AWS::Made::Up", "Properties": {}},
    },
    "Outputs": {
        "Url": {"Value": {"Fn::Sub": "https://${Api}.example.com"}},
        "QueueUrl": {"Value": {"Ref": "Queue"}},
    },
}


def test_references_finds_ref_getatt_and_sub_but_not_pseudo_parameters() -> None:
    found = references(
        {
            "a": [
                {"Ref": "A"},
                {"Ref": "AWS::Region"},
                {"Fn::GetAtt": "B.Arn"},
                {"Fn::Sub": ["${C}-${x}-${D.Arn}", {"x": {"Ref": "E"}}]},
            ]
        }
    )
    assert found == {"A", "B", "C", "D", "E"}


def test_unsupported_resources_and_what_needs_them_are_skipped_with_a_reason() -> None:
    adapted, report = adapt(TEMPLATE)
    assert report["skipped"] == {
        "Api": "moto cannot build a REST API from a Body",
        "Stage": "moto's CloudFormation cannot create AWS::ApiGateway::Stage",
        "Permission": "needs Api, which is skipped",
        "Widget": "moto's CloudFormation cannot create AWS::Made::Up",
    }
    assert report["apply"] == ["Alarm", "Sub"] and report["disabled"] == ["Mapping"]
    assert set(adapted["Resources"]) == {"Queue", "Function", "Mapping"}
    assert "DependsOn" not in adapted["Resources"]["Function"]
    assert adapted["Resources"]["Mapping"]["Properties"]["Enabled"] is False
    assert adapted["Outputs"] == {"QueueUrl": {"Value": {"Ref": "Queue"}}}
    meta = adapted["Metadata"][META]
    assert set(meta["apply"]) == {"Alarm", "Sub"} and set(meta["skipped"]) == set(report["skipped"])
    assert TEMPLATE["Resources"]["Mapping"]["Properties"]["Enabled"] is True  # the input is untouched
