"""Least privilege proven by execution: every AWS request the functions' flows make, under moto, is decided
by an IAM evaluator against the policies the transformed template gives the function that ran it (found
through its Handler), for each parameter set; in hub mode the member accounts' requests against
templates/member-role.yaml's role, and each AssumeRole against that role's trust policy too.

It fails on any denial, on any call the recorder cannot translate, and on any granted (statement, action,
resource) that no flow used unless unexercised.toml says why it is still needed."""

from __future__ import annotations

import re
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from groundskeeper.aws_clients import reset_clients
from tests.iam.evaluator import Decision, Grant, describe, evaluate, grants_of, require_node
from tests.iam.flows import EIP_WORKER, IDLE, KEEP, SENDER, World, run_flows
from tests.iam.recorder import OWN_ROLE, IamRequest, Recorder
from tests.iam.stack import Role, Stack, plain_stack, sam_stack

ROOT = Path(__file__).resolve().parents[2]
HUB = "123456789012"  # moto's default account: where the stack runs
STACK = "gk"
MEMBERS = ["111111111111", "222222222222"]
EMAILS = {"SenderEmail": "groundskeeper@example.com", "NotifyEmail": "ops@example.com"}
PARAMETER_SETS: dict[str, dict[str, str]] = {
    # The defaults: dry run, no remediation, no optional trigger.
    "single account, defaults": dict(EMAILS),
    # Everything a single account can switch on: fix, the CORS-change trigger, the sweep, watched buckets
    # listed by name, real releases.
    "single account, all on": {
        **EMAILS,
        "CorsRemediation": "fix",
        "CorsChangeTrigger": "true",
        "CorsSweepEnabled": "true",
        "WatchedBuckets": f"site-{HUB},good-site-{HUB}",
        "JanitorDryRun": "false",
    },
    "hub, listed accounts": {
        **EMAILS,
        "MemberAccounts": ",".join(MEMBERS),
        "AccountOwners": f"{MEMBERS[0]}=team@example.com",
        "CorsRemediation": "fix",
        "CorsSweepEnabled": "true",
        "JanitorDryRun": "false",
    },
    "hub, organization": {
        **EMAILS,
        "MemberAccounts": "organization",
        "CorsSweepEnabled": "true",
        "JanitorDryRun": "false",
    },
}
UNEXERCISED = Path(__file__).resolve().parent / "unexercised.toml"


def organization_members() -> list[str]:
    """An Organization managed by the hub, with two member accounts, one tagged with its owner; every
    account it lists."""
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    members = []
    for n in range(2):
        status = organizations.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")
        members.append(status["CreateAccountStatus"]["AccountId"])
    organizations.tag_resource(
        ResourceId=members[0], Tags=[{"Key": "groundskeeper:owner", "Value": "o@example.com"}]
    )
    # ListAccounts lists the management account too: the hub, swept through its own member role.
    return [HUB, *members]


def member_roles(stack: Stack, members: list[str]) -> dict[str, Role]:
    """templates/member-role.yaml as deployed in each member account for this hub stack (the hub's own
    account too, when it is a member: the workers reach it through its member role like any other)."""
    parameters = {
        "HubAccountId": stack.account,
        "MemberRoleName": stack.values["MemberRoleName"],
        "CorsRemediation": stack.values["CorsRemediation"],
        "IdleTagKey": stack.values["IdleTagKey"],
        "GracePeriodHours": stack.values["GracePeriodHours"],
    }
    roles = {}
    for account in members:
        member = plain_stack(
            ROOT / "templates/member-role.yaml", parameters, name="gk-member", account=account
        )
        role = member.role("MemberRole")
        roles[role.arn] = role
    return roles


def prove(parameters: dict[str, str]) -> dict[str, Any]:
    """Run the flows of one parameter set with the recorder on; decide every request."""
    stack = sam_stack(parameters, name=STACK, account=HUB)
    recorder = Recorder(HUB)
    with moto.mock_aws(), recorder.installed():
        reset_clients()
        hub = stack.values["MemberAccounts"]
        members = organization_members() if hub == "organization" else [m for m in hub.split(",") if m]
        world = World(stack, recorder)
        run_flows(world, members)
    reset_clients()
    members_by_arn = member_roles(stack, members) if members else {}
    functions = world.functions

    def role_for(request: IamRequest) -> Role:
        if request.principal == OWN_ROLE:
            return functions[request.flow].role
        return members_by_arn[request.principal]

    def trust_for(role_arn: str) -> dict[str, Any] | None:
        role = members_by_arn.get(role_arn)
        return role.trust_policy if role else None

    decisions = evaluate(recorder.requests, role_for, trust_for)
    probes, impostors = denial_probes(stack, functions[SENDER].role, list(members_by_arn.values()))
    probed = evaluate(probes, lambda r: impostors.get(r.principal) or role_for(r), trust_for)
    roles = [f.role for f in functions.values()] + list(members_by_arn.values())[:1]
    granted = set().union(*(grants_of(role) for role in roles))
    return {
        "stack": stack,
        "decisions": decisions,
        "unmapped": recorder.unmapped,
        "invocations": world.invocations,
        "granted": granted,
        "members": members,
        "probes": probed,
    }


def denial_probes(
    stack: Stack, sender: Role, members: list[Role]
) -> tuple[list[IamRequest], dict[str, Role]]:
    """Requests no flow makes and IAM must refuse: the grants are no wider than the docs say. Returns them
    with the roles they are made by that are not the stack's (an impostor in the hub account)."""
    table = f"arn:aws:dynamodb:{stack.region}:{stack.account}:table/{stack.physical_name('IdempotencyTable')}"

    def request(flow: str, principal: str, action: str, resource: str, **context: Any) -> IamRequest:
        account = resource.split(":")[4] or stack.account
        base = {
            "aws:RequestedRegion": stack.region,
            "aws:ResourceAccount": account,
            "aws:SecureTransport": "true",
        }
        return IamRequest(
            flow, "probe", action, resource, account, principal, stack.region, {**base, **context}
        )

    probes = [
        # The sender reaches only its own idempotency records: not the janitor's ledger, not the org runs.
        request(
            SENDER, OWN_ROLE, "dynamodb:PutItem", table, **{"dynamodb:LeadingKeys": ["eip-janitor-run#r1"]}
        ),
        request(SENDER, OWN_ROLE, "dynamodb:UpdateItem", table, **{"dynamodb:LeadingKeys": ["org-run#r1"]}),
        request(SENDER, OWN_ROLE, "dynamodb:DeleteItem", table, **{"dynamodb:LeadingKeys": ["org-run#r1#1"]}),
    ]
    impostors: dict[str, Role] = {}
    for member in members[:1]:
        address = f"arn:aws:ec2:{stack.region}:{member.account}:elastic-ip/eipalloc-0123456789abcdef0"
        kept = {f"aws:ResourceTag/{KEEP}": "yes", f"aws:ResourceTag/{IDLE}": "2026-01-01T00:00:00Z"}
        probes += [
            # A DeleteTags without Tags strips every tag, the exemption tag too.
            request(EIP_WORKER, member.arn, "ec2:DeleteTags", address, **kept),
            # An address the janitor never marked idle.
            request(
                EIP_WORKER, member.arn, "ec2:ReleaseAddress", address, **{f"aws:ResourceTag/{KEEP}": "yes"}
            ),
        ]
        # A role of the hub named like a SAM function role, allowed sts:AssumeRole by its own policy, but not
        # one of the org workers: the member role's trust refuses it.
        impostor = Role(
            logical_id="HubImpostorFunctionRole",
            arn=f"arn:aws:iam::{stack.account}:role/{stack.name}-ReportFunctionRole-ABCDEF123456",
            policies=[
                (
                    "assume",
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
                    },
                )
            ],
            trust_policy={},
        )
        impostors[impostor.arn] = impostor
        probes.append(request(EIP_WORKER, impostor.arn, "sts:AssumeRole", member.arn))
    return probes, impostors


def normalise(grant: Grant, stack: Stack, members: list[str]) -> str:
    """A grant written the same in every parameter set: the stack's name, accounts and region as variables."""
    resource = grant.resource.replace(stack.account, "${AWS::AccountId}").replace(
        stack.region, "${AWS::Region}"
    )
    for account in members:
        resource = resource.replace(account, "${AWS::AccountId}")
    resource = resource.replace(f":{stack.name}-", ":${AWS::StackName}-").replace(
        f"/{stack.name}-", "/${AWS::StackName}-"
    )
    # CloudFormation's generated names end in a random suffix (a nested stack's too): written as *.
    resource = re.sub(r"-[0-9A-F]{12}\b", "-*", resource)
    return f"{grant.role} {grant.statement} {grant.action} {resource}"


def justification(key: str, reasons: dict[str, str]) -> str | None:
    """The most specific entry: role + statement + action + resource, or a prefix of it."""
    parts = key.split(" ")
    for n in (4, 3, 2):
        found = reasons.get(" ".join(parts[:n]))
        if found:
            return found
    return None


def test_every_request_of_every_flow_is_allowed_and_every_grant_is_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_node()
    reasons: dict[str, str] = tomllib.loads(UNEXERCISED.read_text())["grants"]
    failures: list[str] = []
    used: set[str] = set()
    granted_in: dict[str, list[str]] = defaultdict(list)
    report: list[str] = []
    total = probes = allowed_total = member_requests = 0
    for label, parameters in PARAMETER_SETS.items():
        proof = prove(parameters)
        decisions: list[Decision] = proof["decisions"]
        denied = [d for d in decisions if d.result != "Allowed"]
        total += len(decisions)
        by_role = Counter(d.role.logical_id for d in decisions)
        report.append(
            f"{label}: {proof['invocations']} invocations, {len(decisions)} requests evaluated "
            f"({', '.join(f'{role} {n}' for role, n in sorted(by_role.items()))}), {len(denied)} denied"
        )
        failures += [f"[{label}] {describe(d)}" for d in denied]
        failures += [f"[{label}] not translated to IAM: {u}" for u in proof["unmapped"]]
        allowed_probes = [d for d in proof["probes"] if d.result != "ImplicitlyDenied"]
        probes += len(proof["probes"])
        allowed_total += len(allowed_probes)
        member_requests += by_role.get("MemberRole", 0)
        failures += [f"[{label}] must be denied: {describe(d)}" for d in allowed_probes]
        for decision in decisions:
            used.update(normalise(g, proof["stack"], proof["members"]) for g in decision.grants)
        for grant in proof["granted"]:
            granted_in[normalise(grant, proof["stack"], proof["members"])].append(label)
    unexercised = sorted(set(granted_in) - used)
    unjustified = [key for key in unexercised if not justification(key, reasons)]
    with capsys.disabled():
        print("\nIAM proof:", *report, sep="\n  ")
        print(f"  requests evaluated in all: {total}")
        print(f"  the member role, in the hub sets: {member_requests} requests evaluated")
        print(f"  requests that must be denied: {probes}, allowed of them: {allowed_total}")
        print(f"  grants no flow exercised ({len(unexercised)}):")
        for key in unexercised:
            why = justification(key, reasons) or "UNJUSTIFIED"
            print(f"    {key}\n      ({'; '.join(granted_in[key])}) -- {why}")
    failures += [f"unexercised and unjustified in {UNEXERCISED.name}: {key}" for key in unjustified]
    assert not failures, "\n".join(failures)
