"""The sender's canary deployment as SAM deploys it: a PreTraffic hook checks the new version before any
traffic moves, and the rollback alarm watches the new version's own failed records, not every version's."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.rehearse.nested import Stack
from scripts.rehearse.transform import transformed
from tests.unit.test_template_iam import identity_statements


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed()


def _sender_version(template: dict[str, Any]) -> str:
    """The logical id SAM gives the sender's published version (EmailSenderFunctionVersion<hash>)."""
    alias = template["Resources"]["EmailSenderFunctionAliaslive"]
    return str(alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0])


def test_the_pre_traffic_hook_is_the_canary_function(template: dict[str, Any]) -> None:
    update = template["Resources"]["EmailSenderFunctionAliaslive"]["UpdatePolicy"][
        "CodeDeployLambdaAliasUpdate"
    ]
    assert update["BeforeAllowTrafficHook"] == {"Ref": "SenderCanaryFunction"}
    canary = template["Resources"]["SenderCanaryFunction"]["Properties"]
    variables = canary["Environment"]["Variables"]
    # The version CodeDeploy is about to shift to: the hook is updated with it, before the alias is.
    assert variables["CANARY_SENDER_VERSION"] == {"Ref": _sender_version(template)}
    assert variables["CANARY_RECORDS_TABLE"] == {"Ref": "IdempotencyTable"}
    assert canary["Handler"] == "deploy_canary.handler.lambda_handler"


def test_the_canary_role_invokes_the_new_version_only(template: dict[str, Any]) -> None:
    statements = [s for role, s in identity_statements(template) if role == "SenderCanaryFunctionRole"]
    granted = {
        action: s
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert set(granted) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "lambda:InvokeFunction",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "dynamodb:GetItem",
    }
    assert granted["lambda:InvokeFunction"]["Resource"] == {"Ref": _sender_version(template)}
    # The IAM reference gives PutLifecycleEventHookExecutionStatus no resource type: "*" is the only grant.
    assert granted["codedeploy:PutLifecycleEventHookExecutionStatus"]["Resource"] == "*"
    read = granted["dynamodb:GetItem"]
    assert read["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert "dynamodb:LeadingKeys" in read["Condition"]["ForAllValues:StringLike"]


def test_codedeploy_may_invoke_the_hook(template: dict[str, Any]) -> None:
    statements = [s for role, s in identity_statements(template) if role == "SenderDeploymentRole"]
    [invoke] = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert "${AWS::StackName}-sender-canary" in invoke["Resource"]["Fn::Sub"]


def test_the_rollback_alarm_watches_the_new_versions_failed_records(template: dict[str, Any]) -> None:
    group = template["Resources"]["EmailSenderFunctionDeploymentGroup"]["Properties"]
    alarms = group["AlarmConfiguration"]["Alarms"]
    assert alarms == [{"Name": {"Fn::GetAtt": ["Observability", "Outputs.EmailSenderCanaryAlarmName"]}}]
    passed = template["Resources"]["Observability"]["Properties"]["Parameters"]
    assert passed["EmailSenderVersion"] == {"Fn::GetAtt": [_sender_version(template), "Version"]}

    observability = Stack(template).children["Observability"]
    alarm = observability.resources("AWS::CloudWatch::Alarm")["EmailSenderCanaryAlarm"]["Properties"]
    by_id = {metric["Id"]: metric for metric in alarm["Metrics"]}
    failed = by_id["failed"]["MetricStat"]["Metric"]
    assert (failed["Namespace"], failed["MetricName"]) == ("Groundskeeper", "RecordsFailed")
    assert {d["Name"]: d["Value"] for d in failed["Dimensions"]} == {
        "service": "email-sender",
        "version": {"Ref": "EmailSenderVersion"},
    }
    errors = by_id["errors"]["MetricStat"]["Metric"]
    assert {d["Name"] for d in errors["Dimensions"]} == {"FunctionName", "Resource", "ExecutedVersion"}
    assert [m["Id"] for m in alarm["Metrics"] if m.get("ReturnData")] == ["canary"]
