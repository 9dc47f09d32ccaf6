"""IAM as SAM deploys it: every statement of the transformed template, each branch of each condition.

The raw template hides what SAM adds (managed policies on the roles it makes, event-source permissions), so
these checks read aws-sam-translator's output, the template CloudFormation really receives."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from scripts.rehearse.transform import ROOT, transformed
from tests.unit.deployed_template import ACCOUNT, Resolver, deployed, nested_template, resolved

# The only actions that may be granted on "*": each supports no resource type in the Service Authorization
# Reference, so no narrower Resource exists.
STAR_RESOURCE_ALLOWED = {
    "ec2:DescribeAddresses": "EC2 Describe* actions support no resource-level permissions",
    "ec2:DescribeRegions": "EC2 Describe* actions support no resource-level permissions",
    "s3:ListAllMyBuckets": "lists the account's buckets; supports no resource type (the CORS sweep)",
    "ses:GetTemplate": "SES v1 template actions support no resource type",
    "ses:CreateTemplate": "SES v1 template actions support no resource type (creates a missing bundled one)",
    "ses:GetSendQuota": "the account's send quota; supports no resource type",
    "ses:GetAccountSendingEnabled": "the account's sending state; supports no resource type (pause checker)",
    "lambda:ListEventSourceMappings": "supports no resource type (the sender finds its own mapping)",
    "ses:DescribeConfigurationSet": "supports no resource type (the pause checker)",
    "codedeploy:PutLifecycleEventHookExecutionStatus": "supports no resource type (the deploy canary)",
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
# Every function and the one role it runs under: the four functions that audit this account's buckets share
# one, every other job has its own.
ROLE_OF = {
    "CorsAuditorFunction": "CorsAuditorFunctionRole",
    "CorsChangeAuditFunction": "CorsAuditorFunctionRole",
    "CorsSweepFunction": "CorsAuditorFunctionRole",
    "WatchedBucketsAuditFunction": "CorsAuditorFunctionRole",
    "EipJanitorFunction": "EipJanitorFunctionRole",
    "EmailSenderFunction": "EmailSenderFunctionRole",
    "SenderCanaryFunction": "SenderCanaryFunctionRole",
    "EmailPauseCheckerFunction": "EmailPauseCheckerFunctionRole",
    "OrgPlannerFunction": "OrgPlannerFunctionRole",
    "CorsOrgWorkerFunction": "CorsOrgWorkerFunctionRole",
    "EipOrgWorkerFunction": "EipOrgWorkerFunctionRole",
}
HUB_FUNCTIONS = {"OrgPlannerFunction", "CorsOrgWorkerFunction", "EipOrgWorkerFunction"}
WORKER_ROLES = {"CorsOrgWorkerFunctionRole", "EipOrgWorkerFunctionRole"}


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
    assert set(roles) == {*ROLE_OF.values(), "SenderDeploymentRole"}
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
    hub = nested_template(resources["Hub"])["Resources"]
    work_deny = hub["WorkQueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert len(work_deny["Resource"]) == len(hub["WorkQueuesPolicy"]["Properties"]["Queues"]) == 3
    for deny, action in ((bucket_deny, "s3:*"), (queue_deny, "sqs:*"), (work_deny, "sqs:*")):
        assert (deny["Effect"], deny["Action"]) == ("Deny", action)
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [statement for name, statement in identity_statements(template) if name == role]


def test_each_function_runs_under_its_jobs_role(template: dict[str, Any]) -> None:
    functions = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert {name: f["Properties"]["Role"] for name, f in functions.items()} == {
        name: {"Fn::GetAtt": [role, "Arn"]} for name, role in ROLE_OF.items()
    }
    for name in HUB_FUNCTIONS:
        assert functions[name]["Condition"] == "HasMemberAccounts"
        assert template["Resources"][ROLE_OF[name]]["Condition"] == "HasMemberAccounts"


def hub_layer(template: dict[str, Any]) -> str:
    """The logical id SAM gives OrgLayer's published version (OrgLayer<hash>)."""
    (layer,) = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
        and resource["Properties"]["LayerName"] == {"Fn::Sub": "${AWS::StackName}-groundskeeper-org"}
    ]
    return str(layer)


def test_only_hub_functions_attach_the_hub_layer(template: dict[str, Any]) -> None:
    layer = {"Ref": hub_layer(template)}
    attached = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and layer in resource["Properties"].get("Layers", [])
    }
    assert attached == HUB_FUNCTIONS


def hub_output(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": ["Hub", f"Outputs.{name}"]}


# Each role reads only the queue its own event source mapping consumes: the sender its email requests, each
# worker its job's work queue (hub mode).
CONSUMED_QUEUE = {
    "EmailSenderFunctionRole": {"Fn::GetAtt": ["EmailQueue", "Arn"]},
    "EipOrgWorkerFunctionRole": hub_output("JanitorWorkQueueArn"),
    "CorsOrgWorkerFunctionRole": hub_output("CorsSweepWorkQueueArn"),
}


def test_each_function_reads_only_its_own_queue(template: dict[str, Any]) -> None:
    reads: dict[str, dict[str, Any]] = {}
    for role, statement in identity_statements(template):
        for action in as_list(statement["Action"]):
            if action.startswith("sqs:") and action != "sqs:SendMessage":
                reads.setdefault(role, {})[action] = statement["Resource"]
    assert reads == {
        role: dict.fromkeys(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], queue)
        for role, queue in CONSUMED_QUEUE.items()
    }


STACK_QUEUES = {"EmailQueue", "EmailDeadLetterQueue", "AsyncFailureQueue"}
HUB_QUEUES = {"JanitorWorkQueueArn", "CorsSweepWorkQueueArn", "OrgWorkDeadLetterQueueArn"}


def test_sends_name_the_stacks_own_queues(template: dict[str, Any]) -> None:
    sent_to = [
        resource
        for _, statement in identity_statements(template)
        if statement["Action"] == "sqs:SendMessage"
        for resource in as_list(statement["Resource"])
    ]
    allowed = [{"Fn::GetAtt": [q, "Arn"]} for q in STACK_QUEUES] + [hub_output(q) for q in HUB_QUEUES]
    assert [r for r in sent_to if r not in allowed] == []


def test_hub_statements_name_the_member_role_and_the_runs_prefix(template: dict[str, Any]) -> None:
    """The hub roles exist only in hub mode (above); within them, the member role is named (never any role),
    the work DLQ is the hub stack's, and the runs are touched only under their own key prefix."""
    for role in WORKER_ROLES:
        statements = {s.get("Sid"): s for s in role_statements(template, role)}
        assert statements["AssumeMemberRoles"]["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"
        }
        assert statements["DeadLetterOrgWork"]["Resource"] == hub_output("OrgWorkDeadLetterQueueArn")
        assert statements["OrgRunParts"]["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["org-run#*"]}
        }
    planner = {s.get("Sid"): s for s in role_statements(template, "OrgPlannerFunctionRole")}
    assert planner["StartOrgRuns"]["Action"] == "dynamodb:PutItem"
    assert planner["StartOrgRuns"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["org-run#*"]}
    }
    assert planner["PlanOrgRuns"]["Resource"] == [
        hub_output("JanitorWorkQueueArn"),
        hub_output("CorsSweepWorkQueueArn"),
    ]


ORGANIZATION_ONLY: dict[str, dict[str, Any]] = {
    "OrgPlannerFunctionRole": {"organizations:ListAccounts": "*"},
    **{
        role: {
            "organizations:ListTagsForResource": {
                "Fn::Sub": "arn:${AWS::Partition}:organizations::*:account/o-*/*"
            }
        }
        for role in WORKER_ROLES
    },
}


def test_organizations_actions_exist_only_under_lists_organization(template: dict[str, Any]) -> None:
    """Each Organizations action sits in a statement of its own, under ListsOrganization, in the one role
    that needs it: the planner lists the accounts, each worker reads its own account's owner tag (from account
    ARNs only, not roots, OUs or policies)."""
    granted: dict[str, dict[str, list[tuple[str | None, Any]]]] = {}
    for role, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for item in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            guarded = isinstance(item, dict) and set(item) == {"Fn::If"}
            condition, statement = (item["Fn::If"][0], item["Fn::If"][1]) if guarded else (None, item)
            for variant in branches(statement):
                if not isinstance(variant, dict) or variant == {"Ref": "AWS::NoValue"}:
                    continue
                for action in as_list(variant["Action"]):
                    if action.startswith("organizations:"):
                        found = granted.setdefault(role, {}).setdefault(action, [])
                        found.append((condition, variant["Resource"]))
    assert granted == {
        role: {action: [("ListsOrganization", arn)] for action, arn in actions.items()}
        for role, actions in ORGANIZATION_ONLY.items()
    }


def test_hub_mode_is_off_by_default() -> None:
    template = transformed()
    assert template["Conditions"]["HasMemberAccounts"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "MemberAccounts"}, ""]}]
    }
    assert template["Parameters"]["MemberAccounts"]["Default"] == ""
    hub_mode = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("Condition") == "HasMemberAccounts"
    }
    assert {
        "Hub",
        "JanitorWorkMapping",
        "CorsSweepWorkMapping",
        "OrgPlannerJanitorSchedule",
        "OrgPlannerSweepSchedule",
        *HUB_FUNCTIONS,
        *(ROLE_OF[f] for f in HUB_FUNCTIONS),
    } <= hub_mode
    # Whatever names the hub stack's outputs exists only with it, or names them only in a hub-mode branch.
    for name, resource in template["Resources"].items():
        if name not in hub_mode:
            assert not _names_hub_outputs(resource), name


def _names_hub_outputs(node: Any) -> bool:
    """True where `node` reads the hub stack's outputs outside the true branch of a HasMemberAccounts If."""
    if isinstance(node, dict):
        target = node.get("Fn::GetAtt")
        if target is not None:
            return str(target[0] if isinstance(target, list) else target.split(".")[0]) == "Hub"

        branches = node.get("Fn::If")
        if isinstance(branches, list) and branches[0] == "HasMemberAccounts":
            return _names_hub_outputs(branches[2])
        return any(_names_hub_outputs(value) for value in node.values())
    if isinstance(node, list):
        return any(_names_hub_outputs(value) for value in node)
    return False


# ---------------------------------------------------------------- what each role may do, as deployed
# The three ways to run the stack, each with every optional CORS trigger on: a single account, a hub with
# listed member accounts, and a hub over the whole Organization.
EVERY_TRIGGER = {
    "CorsChangeTrigger": "true",
    "CorsSweepEnabled": "true",
    "WatchedBuckets": "*",
    "CorsRemediation": "fix",
}
SCENARIOS = {
    "single-account": EVERY_TRIGGER,
    "hub-listed": {**EVERY_TRIGGER, "MemberAccounts": "111111111111,222222222222"},
    "hub-organization": {**EVERY_TRIGGER, "MemberAccounts": "organization"},
}
SINGLE_ACCOUNT_FUNCTIONS = {
    "CorsAuditorFunction",
    "CorsChangeAuditFunction",
    "CorsSweepFunction",
    "WatchedBucketsAuditFunction",
    "EipJanitorFunction",
}
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
RUNS_PREFIX = "org-run#"


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, deployed(SCENARIOS[request.param])


def grants(resources: dict[str, Any], role: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(action, resource, condition) for every Allow of the role's inline policies, as deployed."""
    found = []
    for policy in resources[role]["Properties"]["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            if statement["Effect"] == "Allow":
                for action in as_list(statement["Action"]):
                    found.append((action, statement["Resource"], statement.get("Condition", {})))
    return found


def writes_runs(action: str, condition: dict[str, Any]) -> bool:
    """Whether a DynamoDB write may reach a run's header or parts: only a leading-keys condition whose every
    pattern names another prefix keeps it out."""
    if action not in DYNAMODB_WRITES:
        return False
    patterns = condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    return patterns is None or any(RUNS_PREFIX.startswith(p.rstrip("*")) for p in as_list(patterns))


def holders(resources: dict[str, Any], wanted: str) -> set[str]:
    roles = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    return {role for role in roles if any(action == wanted for action, _, _ in grants(resources, role))}


def test_single_account_functions_have_no_hub_permission(scenario: tuple[str, dict[str, Any]]) -> None:
    """The upload path and the other single-account jobs run under roles that cannot reach another account,
    the Organization, the runs or the work queues, in every mode; nor do they load the hub layer."""
    name, resources = scenario
    present = SINGLE_ACCOUNT_FUNCTIONS & set(resources)
    # In hub mode the planner runs the sweep across the members: there is no single-account sweep function.
    assert present == (
        SINGLE_ACCOUNT_FUNCTIONS - ({"CorsSweepFunction"} if name.startswith("hub") else set())
    )
    for function in sorted(present):
        properties = resources[function]["Properties"]
        role = properties["Role"].removeprefix("<").removesuffix(".Arn>")
        assert role == ROLE_OF[function]
        assert not any(layer.startswith("<OrgLayer") for layer in properties["Layers"]), function
        for action, resource, condition in grants(resources, role):
            assert action != "sts:AssumeRole", (function, role)
            assert not action.startswith("organizations:"), (function, role, action)
            assert not writes_runs(action, condition), (function, role, action)
            assert "Hub.Outputs" not in json.dumps(resource), (function, role, action)


def test_only_the_org_workers_may_assume_member_roles(scenario: tuple[str, dict[str, Any]]) -> None:
    name, resources = scenario
    assert holders(resources, "sts:AssumeRole") == (WORKER_ROLES if name.startswith("hub") else set())
    for role in holders(resources, "sts:AssumeRole"):
        assumed = {str(r) for a, r, _ in grants(resources, role) if a == "sts:AssumeRole"}
        assert assumed == {"arn:aws:iam::*:role/GroundskeeperMember"}


def test_only_the_planner_may_list_the_organization(scenario: tuple[str, dict[str, Any]]) -> None:
    name, resources = scenario
    organization = name == "hub-organization"
    assert holders(resources, "organizations:ListAccounts") == (
        {"OrgPlannerFunctionRole"} if organization else set()
    )
    assert holders(resources, "organizations:ListTagsForResource") == (
        WORKER_ROLES if organization else set()
    )


def test_only_the_planner_and_the_workers_write_runs(scenario: tuple[str, dict[str, Any]]) -> None:
    name, resources = scenario
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    writers = {role: sorted(a for a, _, c in grants(resources, role) if writes_runs(a, c)) for role in roles}
    expected = (
        {
            "OrgPlannerFunctionRole": ["dynamodb:PutItem"],
            "CorsOrgWorkerFunctionRole": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            "EipOrgWorkerFunctionRole": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
        }
        if name.startswith("hub")
        else {}
    )
    assert {role: actions for role, actions in writers.items() if actions} == expected


# ---------------------------------------------------------------- grants no wider than the docs say
MEMBER_ROLE = ROOT / "templates/member-role.yaml"
SENDER_KEY_PREFIX = "${AWS::StackName}-email-sender.email_sender.sender.EmailSender._deliver#*"
WORKER_PATH = "/groundskeeper-org-worker/"


def member_statements(parameters: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The member role's statements by Sid, as deployed with these parameters."""
    resources = resolved(
        yaml_parse(MEMBER_ROLE.read_text()), {"HubAccountId": "111122223333", **(parameters or {})}
    )
    return {
        s["Sid"]: s
        for policy in resources["MemberRole"]["Properties"]["Policies"]
        for s in as_list(policy["PolicyDocument"]["Statement"])
    }


def test_member_role_delete_tags_needs_tag_keys() -> None:
    """A DeleteTags without Tags removes every tag (the exemption tag too) and carries no aws:TagKeys, which
    ForAllValues alone lets through: the Null guard refuses it."""
    marking = member_statements()["MarkIdleOnly"]
    assert marking["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["groundskeeper:idle-since"]}
    assert marking["Condition"]["Null"] == {"aws:TagKeys": "false"}


def test_member_role_releases_only_idle_tagged_addresses() -> None:
    """The hub's own release statement's condition, in every member account."""
    assert member_statements()["ReleaseAddresses"]["Condition"] == {
        "Null": {"aws:ResourceTag/groundskeeper:idle-since": "false"}
    }
    # As in the hub: a custom idle tag key cannot be named in a condition key, and with no grace period
    # untagged addresses are released on their first idle run.
    assert "Condition" not in member_statements({"GracePeriodHours": "0"})["ReleaseAddresses"]
    assert "Condition" not in member_statements({"IdleTagKey": "team:idle"})["ReleaseAddresses"]


def test_the_sender_writes_only_its_own_idempotency_records(template: dict[str, Any]) -> None:
    (records,) = [
        s for s in role_statements(template, "EmailSenderFunctionRole") if s["Sid"] == "IdempotencyRecords"
    ]
    assert records["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [{"Fn::Sub": SENDER_KEY_PREFIX}]}
    }


def test_the_sender_key_prefix_is_the_one_the_code_writes() -> None:
    from email_sender.idempotency_record import KEY_SCOPE

    written = f"${{AWS::StackName}}-email-sender.{KEY_SCOPE}#*"
    assert written == SENDER_KEY_PREFIX
    sender = transformed()["Resources"]["EmailSenderFunction"]["Properties"]
    assert sender["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-email-sender"}


def test_every_table_grant_is_limited_to_its_key_prefix(template: dict[str, Any]) -> None:
    """The idempotency table holds the sender's records, the janitor's run ledger and the org runs: every
    role reaches only its own prefix."""
    for role, statement in identity_statements(template):
        actions = as_list(statement["Action"])
        if any(action.startswith("dynamodb:") for action in actions):
            patterns = (
                statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
            )
            assert patterns, (role, statement["Sid"])
            assert "*" not in [p if isinstance(p, str) else p["Fn::Sub"] for p in patterns], (
                role,
                statement["Sid"],
            )


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_every_arn_is_in_the_stacks_partition(partition: str) -> None:
    """Listed watched buckets too: a stack in China or GovCloud names its own partition in every ARN."""
    parameters = {
        "WatchedBuckets": "site-a,site-b",
        "CorsRemediation": "fix",
        "MemberAccounts": "111111111111",
    }
    template = transformed(parameters=parameters)
    resolver = Resolver(template, parameters)
    resolver.values["AWS::Partition"] = partition
    roles = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    for role in roles:
        if "Condition" in template["Resources"][role] and not resolver.condition(
            template["Resources"][role]["Condition"]
        ):
            continue
        for policy in resolver.resolve(template["Resources"][role]["Properties"]["Policies"]):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                for resource in as_list(statement["Resource"]):
                    if resource != "*" and not resource.startswith("<"):
                        assert resource.startswith(f"arn:{partition}:"), (role, statement["Sid"], resource)
    read = resolver.resolve(template["Resources"]["CorsAuditorFunctionRole"]["Properties"]["Policies"])
    statements = {s["Sid"]: s for s in read[0]["PolicyDocument"]["Statement"]}
    assert statements["ReadCors"]["Resource"] == [
        f"arn:{partition}:s3:::gk-uploads-123456789012",
        f"arn:{partition}:s3:::site-a",
        f"arn:{partition}:s3:::site-b",
    ]


def test_the_org_workers_act_in_accounts_only_through_member_roles(
    scenario: tuple[str, dict[str, Any]],
) -> None:
    """The hub's own account, when it is a member, is swept through its member role like any other: the
    workers' roles hold no S3, EC2 or Route 53 grant of their own, whatever the member list."""
    _, resources = scenario
    for role in WORKER_ROLES & set(resources):
        services = {action.split(":")[0] for action, _, _ in grants(resources, role)}
        assert services <= {"logs", "xray", "sqs", "dynamodb", "sts", "organizations"}, (role, services)


def test_only_the_org_workers_match_the_member_roles_trust(scenario: tuple[str, dict[str, Any]]) -> None:
    """The member role trusts a path only the two worker roles have; SAM's other function roles, the
    CodeDeploy role and any role named like them stay out."""
    name, resources = scenario
    member = resolved(yaml_parse(MEMBER_ROLE.read_text()), {"HubAccountId": ACCOUNT})
    (trust,) = member["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    pattern = trust["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert pattern == f"arn:aws:iam::{ACCOUNT}:role{WORKER_PATH}*"
    roles = {n: r for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    with_path = {n for n, r in roles.items() if r["Properties"].get("Path", "/") == WORKER_PATH}
    assert with_path == (WORKER_ROLES if name.startswith("hub") else set())
    assert all("RoleName" not in r["Properties"] for r in roles.values())
