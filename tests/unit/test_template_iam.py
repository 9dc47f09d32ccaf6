"""IAM as SAM deploys it: every statement of the transformed template, each branch of each condition.

The raw template hides what SAM adds (managed policies on the roles it makes, event-source permissions), so
these checks read aws-sam-translator's output, the template CloudFormation really receives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.rehearse.transform import transformed

# The only actions that may be granted on "*": each supports no resource type in the Service Authorization
# Reference, so no narrower Resource exists.
STAR_RESOURCE_ALLOWED = {
    "ec2:DescribeAddresses": "EC2 Describe* actions support no resource-level permissions",
    "ec2:DescribeRegions": "EC2 Describe* actions support no resource-level permissions",
    "s3:ListAllMyBuckets": "lists the account's buckets; supports no resource type (the CORS sweep)",
    "ses:GetTemplate": "SES v1 template actions support no resource type",
    "ses:CreateTemplate": "SES v1 template actions support no resource type (creates a missing bundled one)",
    "ses:GetSendQuota": "the account's send quota; supports no resource type",
    "route53:ListHostedZones": "lists the account's zones; supports no resource type (the DNS guard)",
    "xray:PutTraceSegments": "X-Ray write actions support no resource type (Tracing: Active)",
    "xray:PutTelemetryRecords": "X-Ray write actions support no resource type (Tracing: Active)",
}
# Parameter sets that switch on every optional statement (the conditions are expanded branch by branch
# too, but the defaults are what most stacks run).
PARAMETER_SETS = [
    {},
    {
        "CorsRemediation": "fix",
        "CorsChangeTrigger": "true",
        "CorsSweepEnabled": "true",
        "GracePeriodHours": "0",
    },
    {"IdleTagKey": "team:idle-since", "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"},
]
ALL_BUCKETS = "s3:::*"


@pytest.fixture(scope="module", params=range(len(PARAMETER_SETS)), ids=lambda i: f"params{i}")
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    return transformed(parameters=PARAMETER_SETS[request.param])


def branches(node: Any) -> Iterator[Any]:
    """Every value `node` can take once its Fn::If conditions are decided, one way or the other."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            _, when_true, when_false = node["Fn::If"]
            yield from branches(when_true)
            yield from branches(when_false)
            return
        keys = list(node)
        for values in itertools.product(*(list(branches(node[k])) for k in keys)):
            yield dict(zip(keys, values, strict=True))
    elif isinstance(node, list):
        for values in itertools.product(*(list(branches(item)) for item in node)):
            yield [v for v in values if v != {"Ref": "AWS::NoValue"}]
    else:
        yield node


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role or policy, statement) for every statement of every identity policy, every branch."""
    for name, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        documents = []
        if kind == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        for document in documents:
            for variant in branches(document):
                for statement in as_list(variant["Statement"]):
                    if statement != {"Ref": "AWS::NoValue"}:
                        yield name, statement


def test_no_role_carries_a_managed_policy(template: dict[str, Any]) -> None:
    # SAM's own roles bring AWSLambdaBasicExecutionRole (logs on "*"), AWSXrayWriteOnlyAccess, and the SQS
    # and CodeDeploy managed policies: every role here is written out instead.
    roles = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {
        "CorsAuditorFunctionRole",
        "EmailSenderFunctionRole",
        "EipJanitorFunctionRole",
        "SenderDeploymentRole",
    }
    assert [n for n, r in roles.items() if r["Properties"].get("ManagedPolicyArns")] == []


def test_no_action_is_a_wildcard(template: dict[str, Any]) -> None:
    wild = [
        (role, action)
        for role, statement in identity_statements(template)
        for action in as_list(statement.get("Action", []))
        if "*" in action
    ]
    assert wild == []
    assert not any("NotAction" in s or "NotResource" in s for _, s in identity_statements(template))


def test_star_resources_are_only_actions_that_support_no_resource_type(template: dict[str, Any]) -> None:
    unexplained = [
        (role, action)
        for role, statement in identity_statements(template)
        if "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
        if action not in STAR_RESOURCE_ALLOWED
    ]
    assert unexplained == []


def test_every_all_buckets_statement_is_limited_to_this_account(template: dict[str, Any]) -> None:
    for role, statement in identity_statements(template):
        arns = [str(r) for r in as_list(statement["Resource"])]
        if any(arn.endswith(ALL_BUCKETS) for arn in arns):
            condition = statement.get("Condition", {}).get("StringEquals", {})
            assert condition.get("s3:ResourceAccount") == {"Ref": "AWS::AccountId"}, (role, statement["Sid"])


def test_release_needs_the_idle_tag_when_iam_can_name_it() -> None:
    def release_conditions(parameters: dict[str, str]) -> list[Any]:
        template = transformed(parameters=parameters)
        statements = identity_statements(template)
        return [s.get("Condition") for _, s in statements if s.get("Sid") == "ReleaseAddresses"]

    tagged = {"Null": {"aws:ResourceTag/groundskeeper:idle-since": "false"}}
    # Both branches exist in the document; the stack's condition picks one (NoValue: no condition).
    assert release_conditions({}) == [tagged, {"Ref": "AWS::NoValue"}]
    template = transformed()
    condition = template["Conditions"]["ReleaseNeedsIdleTag"]
    assert condition == {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "IdleTagKey"}, "groundskeeper:idle-since"]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "GracePeriodHours"}, 0]}]},
        ]
    }


def test_sends_are_limited_to_the_stacks_configuration_set(template: dict[str, Any]) -> None:
    sends = [s for _, s in identity_statements(template) if s.get("Action") == "ses:SendEmail"]
    assert len(sends) == 1
    resources = [r["Fn::Sub"] for r in sends[0]["Resource"]]
    assert any(r.endswith(":configuration-set/${EmailConfigurationSet}") for r in resources)
    assert not any(r.endswith(":configuration-set/*") for r in resources)
    assert "SenderEmail" in str(sends[0]["Condition"]["StringEquals"]["ses:FromAddress"])


def test_s3_may_invoke_the_auditor_only_for_the_uploads_bucket(template: dict[str, Any]) -> None:
    s3_permissions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "s3.amazonaws.com"
    ]
    assert len(s3_permissions) == 1
    assert s3_permissions[0]["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-uploads-${AWS::AccountId}"
    }
    assert s3_permissions[0]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    bucket = template["Resources"]["UploadsBucket"]["Properties"]["BucketName"]
    assert bucket == {"Fn::Sub": "${AWS::StackName}-uploads-${AWS::AccountId}"}


def test_tls_denies_cover_every_action(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket_deny = resources["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    queue_deny = resources["QueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    for deny, action in ((bucket_deny, "s3:*"), (queue_deny, "sqs:*")):
        assert (deny["Effect"], deny["Action"]) == ("Deny", action)
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_sender_reads_only_its_own_queue(template: dict[str, Any]) -> None:
    reads = {
        action: statement["Resource"]
        for role, statement in identity_statements(template)
        for action in as_list(statement["Action"])
        if action.startswith("sqs:") and action != "sqs:SendMessage"
    }
    assert reads == {
        "sqs:ReceiveMessage": {"Fn::GetAtt": ["EmailQueue", "Arn"]},
        "sqs:DeleteMessage": {"Fn::GetAtt": ["EmailQueue", "Arn"]},
        "sqs:GetQueueAttributes": {"Fn::GetAtt": ["EmailQueue", "Arn"]},
    }
    sends = {
        str(statement["Resource"])
        for _, statement in identity_statements(template)
        if statement["Action"] == "sqs:SendMessage"
    }
    assert all("Fn::GetAtt" in s for s in sends)
