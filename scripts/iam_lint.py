"""Every IAM statement the stack deploys, checked against the Service Authorization Reference (policy-sentry's
offline copy): each action exists, each Resource is "*" or an ARN of a resource type the action takes (and
"*" only where it takes none), each condition key is one the action supports or a global key.

The template is resolved for several parameter sets, so each Fn::If branch is checked as deployed; the member
role (templates/member-role.yaml) with it. Exit status 1 on any finding, each printed on its own line."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import Any

from policy_sentry.querying.actions import get_action_data

from tests.iam.stack import Role, plain_stack, sam_stack

ROOT = Path(__file__).resolve().parent.parent
EMAILS = {"SenderEmail": "groundskeeper@example.com", "NotifyEmail": "ops@example.com"}
PARAMETER_SETS: list[dict[str, str]] = [
    {},
    {**EMAILS, "CorsRemediation": "fix", "CorsChangeTrigger": "true", "CorsSweepEnabled": "true"},
    {
        **EMAILS,
        "WatchedBuckets": "site-a,site-b",
        "CorsRemediation": "fix",
        "AllowedSenders": "b@example.com",
    },
    {"WatchedBuckets": "*", "IdleTagKey": "team:idle-since", "GracePeriodHours": "0"},
    {"MemberAccounts": "111111111111,222222222222", "CorsSweepEnabled": "true"},
    {"MemberAccounts": "organization", "CorsSweepEnabled": "true", "MemberRoleName": "gk-member"},
]
MEMBER_PARAMETER_SETS: list[dict[str, str]] = [
    {"HubAccountId": "123456789012"},
    {"HubAccountId": "123456789012", "CorsRemediation": "fix", "AllowRelease": "false"},
]
# Keys IAM evaluates for every request, whatever the action (the reference lists them once, not per action).
GLOBAL_KEYS = {
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalTag",
    "aws:SecureTransport",
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:RequestedRegion",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:CalledVia",
    "aws:ViaAWSService",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:userid",
    "aws:username",
}


@functools.cache
def action_rows(action: str) -> list[dict[str, Any]]:
    service, name = action.split(":", 1)
    rows: list[dict[str, Any]] = get_action_data(service, name).get(service, [])
    return [row for row in rows if row["action"].lower() == action.lower()]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", template)
    return re.compile(
        "".join(".+" if p.startswith("${") else re.escape(p) for p in parts) + "$", re.IGNORECASE
    )


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def overlaps(resource: str, arn_format: str) -> bool:
    """Whether the Resource pattern (* any text) can name an ARN of the format (${Var} any non-empty text)."""
    left = resource.lower()
    right = re.sub(r"\$\{[^}]+\}", "\0", arn_format).lower()

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*":
            return match(i + 1, j) or (j < len(right) and match(i, j + 1))
        if j < len(right) and right[j] == "\0":
            return match(i, j + 1) or (i < len(left) and match(i + 1, j))
        return i < len(left) and j < len(right) and left[i] == right[j] and match(i + 1, j + 1)

    return match(0, 0)


def check_statement(where: str, statement: dict[str, Any]) -> list[str]:
    """Each action exists and takes at least one of the Resources ("*" only when it takes no type); each
    Resource is taken by at least one of the actions; each condition key is supported or global."""
    findings = []
    condition_keys = [key for operator in statement.get("Condition", {}).values() for key in operator]
    resources = as_list(statement["Resource"])
    used_resources: set[str] = set()
    for action in as_list(statement.get("Action", [])):
        rows = action_rows(action)
        if not rows:
            findings.append(f"{where}: {action} is not an action of the Service Authorization Reference")
            continue
        typed = [row["resource_arn_format"] for row in rows if row["resource_arn_format"] != "*"]
        taken = [r for r in resources if (r == "*" and not typed) or any(overlaps(r, f) for f in typed)]
        used_resources.update(taken)
        if "*" in resources and typed:
            findings.append(f'{where}: {action} on "*", but it takes resource types: {", ".join(typed)}')
        elif not taken:
            findings.append(f"{where}: {action} takes none of {resources} (it takes {typed or ['*']})")
        supported = {key for row in rows for key in row["condition_keys"]}
        for key in condition_keys:
            if key in GLOBAL_KEYS or any(_pattern(k).match(key) for k in supported):
                continue
            findings.append(f"{where}: {action} does not support the condition key {key}")
    for resource in resources:
        if resource not in used_resources and resource != "*":
            findings.append(f"{where}: no action of the statement takes {resource}")
    return findings


def check_role(label: str, role: Role) -> list[str]:
    findings = []
    for policy, statement in role.statements():
        sid = statement.get("Sid", "?")
        findings += check_statement(f"[{label}] {role.logical_id}/{policy}/{sid}", statement)
    return findings


def main() -> int:
    findings: list[str] = []
    checked = 0
    for parameters in PARAMETER_SETS:
        stack = sam_stack(parameters, name="gk", account="123456789012")
        label = ",".join(f"{k}={v}" for k, v in parameters.items()) or "defaults"
        for logical_id in stack.resources_of("AWS::IAM::Role"):
            role = stack.role(logical_id)
            checked += len(role.statements())
            findings += check_role(label, role)
    for parameters in MEMBER_PARAMETER_SETS:
        member = plain_stack(
            ROOT / "templates/member-role.yaml", parameters, name="m", account="111111111111"
        )
        role = member.role("MemberRole")
        checked += len(role.statements())
        findings += check_role("member " + ",".join(f"{k}={v}" for k, v in parameters.items()), role)
    for finding in dict.fromkeys(findings):
        print(finding)
    print(f"iam-lint: {checked} statements checked, {len(set(findings))} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
