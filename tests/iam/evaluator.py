"""Each recorded request decided by @cloud-copilot/iam-simulate (evaluate.mjs) against its role's policies,
and which statement (action x resource) granted it."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.iam.recorder import OWN_ROLE, IamRequest
from tests.iam.stack import Role

HERE = Path(__file__).resolve().parent
INSTALLED = HERE / "node_modules" / "@cloud-copilot" / "iam-simulate"


def require_node() -> str:
    """node with iam-simulate installed (make iam-evaluator); under CI its absence fails, elsewhere skips."""
    node = shutil.which("node")
    problem = None if node else "node is not installed"
    if node and not INSTALLED.exists():
        problem = "iam-simulate is not installed (make iam-evaluator)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the IAM proof cannot run: {problem}")
        pytest.skip(f"the IAM proof needs node: {problem}")
    assert node is not None
    return node


@dataclass(frozen=True)
class Grant:
    role: str  # the role's logical id
    statement: str  # its Sid, or #<index> within its policy
    action: str
    resource: str


@dataclass
class Decision:
    request: IamRequest
    role: Role
    result: str
    grants: list[Grant]
    detail: Any


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_name(policy: str, index: int, statement: dict[str, Any]) -> str:
    return str(statement.get("Sid") or f"{policy}#{index}")


def grants_of(role: Role) -> set[Grant]:
    """Every (statement, action, resource) the role's Allow statements grant."""
    out = set()
    policy_index: dict[str, int] = {}
    for policy, statement in role.statements():
        policy_index[policy] = policy_index.get(policy, 0) + 1
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                name = statement_name(policy, policy_index[policy], statement)
                out.add(Grant(role.logical_id, name, action, resource))
    return out


def evaluate(requests: list[IamRequest], role_for: Any, trust_for: Any) -> list[Decision]:
    """role_for(request) -> the Role whose policies apply; trust_for(role ARN) -> that role's trust policy,
    when the request assumes a role the proof knows (its trust policy is then the resource policy)."""
    node = require_node()
    unique: dict[tuple[Any, ...], tuple[IamRequest, Role, dict[str, Any]]] = {}
    for request in requests:
        role = role_for(request)
        key = (role.arn, *request.key())
        if key in unique:
            continue
        context = {
            **request.context,
            "aws:PrincipalArn": role.arn,
            "aws:PrincipalAccount": role.account,
        }
        simulation: dict[str, Any] = {
            "request": {
                "principal": role.arn,
                "action": request.action,
                "resource": {"resource": request.resource, "accountId": request.account},
                "contextVariables": context,
            },
            "identityPolicies": [{"name": name, "policy": document} for name, document in role.policies],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        trust = trust_for(request.resource) if request.action == "sts:AssumeRole" else None
        if trust is not None:
            simulation["resourcePolicy"] = trust
        unique[key] = (request, role, simulation)
    batch = [simulation for _, _, simulation in unique.values()]
    answer = subprocess.run(
        [node, str(HERE / "evaluate.mjs")],
        input=json.dumps({"simulations": batch}),
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE,
    )
    decided = dict(zip(unique, json.loads(answer.stdout)["decisions"], strict=True))
    decisions = []
    for request in requests:
        role = role_for(request)
        decision = decided[(role.arn, *request.key())]
        decisions.append(
            Decision(request, role, decision["result"], _granted(role, request, decision), decision)
        )
    return decisions


def _granted(role: Role, request: IamRequest, decision: dict[str, Any]) -> list[Grant]:
    statements: dict[tuple[str, int], dict[str, Any]] = {}
    counters: dict[str, int] = {}
    for policy, statement in role.statements():
        counters[policy] = counters.get(policy, 0) + 1
        statements[(policy, counters[policy])] = statement
    out = []
    for reason in decision.get("grants") or []:
        if reason.get("policyType") != "identity":
            continue
        policy, index = reason["policyIdentifier"], reason["statementIndex"]
        statement = statements[(policy, index)]
        for action in _as_list(statement["Action"]):
            if not _matches(action.lower(), request.action.lower()):
                continue
            for resource in _as_list(statement["Resource"]):
                if _matches(resource, request.resource):
                    out.append(
                        Grant(role.logical_id, statement_name(policy, index, statement), action, resource)
                    )
    return out


def describe(decision: Decision) -> str:
    request = decision.request
    who = "the function's role" if request.principal == OWN_ROLE else "an assumed role"
    return (
        f"{decision.result}: {request.action} on {request.resource}\n"
        f"    by {decision.role.logical_id} ({decision.role.arn}, {who}) in flow {request.flow} "
        f"[{request.operation}]\n"
        f"    context {json.dumps(request.context, sort_keys=True)}\n"
        f"    evaluator: {json.dumps({k: v for k, v in decision.detail.items() if k != 'grants'})[:600]}"
    )
