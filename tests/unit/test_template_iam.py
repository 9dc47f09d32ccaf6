"""IAM as SAM deploys it: every statement of the transformed template, each branch of each condition.

The raw template hides what SAM adds (managed policies on the roles it makes, event-source permissions), so
these checks read aws-sam-translator's output, the template CloudFormation really receives."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
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
    "organizations:ListAccounts": "lists the Organization's accounts; supports no resource type (hub mode)",
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
    # Hub mode, with listed accounts and with the whole Organization.
    {"MemberAccounts": "111111111111,222222222222", "AccountOwners": "111111111111=ops@example.com"},
    {"MemberAccounts": "organization", "CorsSweepEnabled": "true", "MemberRoleName": "gk-member"},
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


def unique(values: Iterable[Any]) -> list[Any]:
    """Each value once, in first-seen order: a statement recurs in every combination of the other Ifs."""
    return list({json.dumps(v, sort_keys=True): v for v in values}.values())


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
        return unique(s.get("Condition") for _, s in statements if s.get("Sid") == "ReleaseAddresses")

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


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [statement for name, statement in identity_statements(template) if name == role]


# Each role reads only the queue its own event source mapping consumes: the sender its email requests, the
# janitor and the auditor their work queues (hub mode).
CONSUMED_QUEUE = {
    "EmailSenderFunctionRole": "EmailQueue",
    "EipJanitorFunctionRole": "JanitorWorkQueue",
    "CorsAuditorFunctionRole": "CorsSweepWorkQueue",
}


@pytest.mark.parametrize("role", sorted(CONSUMED_QUEUE))
def test_each_function_reads_only_its_own_queue(template: dict[str, Any], role: str) -> None:
    reads = {
        action: statement["Resource"]
        for statement in role_statements(template, role)
        for action in as_list(statement["Action"])
        if action.startswith("sqs:") and action != "sqs:SendMessage"
    }
    queue = {"Fn::GetAtt": [CONSUMED_QUEUE[role], "Arn"]}
    assert reads == {
        "sqs:ReceiveMessage": queue,
        "sqs:DeleteMessage": queue,
        "sqs:GetQueueAttributes": queue,
    }


def test_sends_name_the_stacks_own_queues(template: dict[str, Any]) -> None:
    sends = {
        str(statement["Resource"])
        for _, statement in identity_statements(template)
        if statement["Action"] == "sqs:SendMessage"
    }
    assert all("Fn::GetAtt" in s for s in sends)


@pytest.mark.parametrize("role", ["EipJanitorFunctionRole", "CorsAuditorFunctionRole"])
def test_hub_statements_exist_only_in_hub_mode(template: dict[str, Any], role: str) -> None:
    """Every hub statement sits under HasMemberAccounts (ListAccounts and the account tags under
    ListsOrganization), so a stack without MemberAccounts gets none of them; and the member role is named,
    never any role."""
    policy = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    hub = {
        item["Fn::If"][1]["Sid"]: item["Fn::If"][0]
        for item in policy
        if isinstance(item, dict) and "Fn::If" in item and isinstance(item["Fn::If"][1], dict)
    }
    # Every statement under a hub condition is listed here: a new one must be added on purpose.
    assert {sid: hub[sid] for sid in hub if hub[sid] in ("HasMemberAccounts", "ListsOrganization")} == {
        "AssumeMemberRoles": "HasMemberAccounts",
        "ListOrganizationAccounts": "ListsOrganization",
        "ReadOrgAccountTags": "ListsOrganization",
        "PlanOrgRuns": "HasMemberAccounts",
        "ConsumeOrgWork": "HasMemberAccounts",
        "DeadLetterOrgWork": "HasMemberAccounts",
        "OrgRunParts": "HasMemberAccounts",
    }
    dead_letters = unique(s for s in role_statements(template, role) if s.get("Sid") == "DeadLetterOrgWork")
    assert [(s["Action"], s["Resource"]) for s in dead_letters] == [
        ("sqs:SendMessage", {"Fn::GetAtt": ["OrgWorkDeadLetterQueue", "Arn"]})
    ]
    assume = unique(s for s in role_statements(template, role) if s.get("Action") == "sts:AssumeRole")
    assert [s["Resource"] for s in assume] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    ]
    parts = unique(s for s in role_statements(template, role) if s.get("Sid") == "OrgRunParts")
    assert parts[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["org-run#*"]}}


ORGANIZATION_ONLY = {
    "organizations:ListAccounts": "*",
    "organizations:ListTagsForResource": {"Fn::Sub": "arn:${AWS::Partition}:organizations::*:account/o-*/*"},
}


@pytest.mark.parametrize("role", ["EipJanitorFunctionRole", "CorsAuditorFunctionRole"])
def test_organizations_actions_exist_only_under_lists_organization(
    template: dict[str, Any], role: str
) -> None:
    """Each Organizations action sits in a statement of its own, under ListsOrganization and nowhere else,
    and the owner tags are read from account ARNs only (not roots, OUs or policies)."""
    policy = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted: dict[str, list[tuple[str | None, Any]]] = {}
    for item in policy:
        guarded = isinstance(item, dict) and set(item) == {"Fn::If"}
        condition, statement = (item["Fn::If"][0], item["Fn::If"][1]) if guarded else (None, item)
        for variant in branches(statement):
            if not isinstance(variant, dict) or variant == {"Ref": "AWS::NoValue"}:
                continue
            for action in as_list(variant["Action"]):
                if action.startswith("organizations:"):
                    granted.setdefault(action, []).append((condition, variant["Resource"]))
    assert granted == {
        action: [("ListsOrganization", resource)] for action, resource in ORGANIZATION_ONLY.items()
    }
    holders = {
        name
        for name, statement in identity_statements(template)
        if any(action.startswith("organizations:") for action in as_list(statement["Action"]))
    }
    assert holders == {"EipJanitorFunctionRole", "CorsAuditorFunctionRole"}


def test_hub_mode_is_off_by_default() -> None:
    template = transformed()
    assert template["Conditions"]["HasMemberAccounts"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "MemberAccounts"}, ""]}]
    }
    assert template["Parameters"]["MemberAccounts"]["Default"] == ""
    for name in ("JanitorWorkQueue", "CorsSweepWorkQueue", "OrgWorkDeadLetterQueue", "WorkQueuesPolicy"):
        assert template["Resources"][name]["Condition"] == "HasMemberAccounts"
    mappings = {
        r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    for queue in ("JanitorWorkQueue", "CorsSweepWorkQueue"):
        assert mappings[queue]["Condition"] == "HasMemberAccounts"
        assert mappings[queue]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mappings[queue]["Properties"]["ScalingConfig"] == {
            "MaximumConcurrency": {"Ref": "OrgMaxConcurrency"}
        }
