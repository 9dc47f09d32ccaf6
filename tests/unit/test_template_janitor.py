"""The janitor's deployment: no reserved concurrency unless asked (a new account cannot spare it), a lease
that outlives both janitor functions' timeouts, ledger grants for every record the janitor keeps, and
retained recovery logs that do not stop a stack of the same name from being created again."""

from __future__ import annotations

from typing import Any

import pytest

from eip_janitor import run_ledger
from tests.unit.deployed_template import PSEUDO, deployed

HUB = {"MemberAccounts": "111111111111,222222222222"}
JANITORS = {
    "EipJanitorFunction": "EipJanitorFunctionRole",
    "EipOrgWorkerFunction": "EipOrgWorkerFunctionRole",
}
RETAINED_LOGS = {"EipJanitorFunction": "EipJanitorLogGroup", "EipOrgWorkerFunction": "EipOrgWorkerLogGroup"}


@pytest.fixture(scope="module")
def hub() -> dict[str, Any]:
    return deployed(HUB)


def test_the_janitor_reserves_no_concurrency_by_default() -> None:
    """A new account's concurrency quota is 10 and at least 10 must stay unreserved: any reservation fails
    the first deploy."""
    assert "ReservedConcurrentExecutions" not in deployed({})["EipJanitorFunction"]["Properties"]


def test_a_reservation_is_a_parameter() -> None:
    reserved = deployed({"JanitorReservedConcurrency": "1"})["EipJanitorFunction"]["Properties"]
    assert reserved["ReservedConcurrentExecutions"] == 1


@pytest.mark.parametrize("function", sorted(JANITORS))
def test_the_lease_outlives_the_function_timeout(function: str, hub: dict[str, Any]) -> None:
    timeout = int(hub[function]["Properties"]["Timeout"])
    assert run_ledger.LEASE_FOR.total_seconds() > timeout


@pytest.mark.parametrize("function", sorted(JANITORS))
def test_the_role_reaches_every_ledger_record_and_only_those(function: str, hub: dict[str, Any]) -> None:
    statements = [
        s
        for policy in hub[JANITORS[function]]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Sid") == "RunLedger"
    ]
    (statement,) = statements
    assert set(statement["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
    }
    keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert sorted(keys) == sorted(
        f"{prefix}*" for prefix in (run_ledger.KEY_PREFIX, run_ledger.LEASE_PREFIX, run_ledger.IDLE_PREFIX)
    )


@pytest.mark.parametrize("function", sorted(RETAINED_LOGS))
def test_a_stack_of_the_same_name_can_be_created_again(function: str, hub: dict[str, Any]) -> None:
    """The recovery log is retained when the stack is deleted: a new stack of the same name must not ask for
    a log group of the same name, or its creation fails with "already exists"."""
    log_group = hub[RETAINED_LOGS[function]]
    assert (log_group["DeletionPolicy"], log_group["UpdateReplacePolicy"]) == ("Retain", "Retain")
    name = log_group["Properties"]["LogGroupName"]
    again = deployed(HUB, {"AWS::StackId": PSEUDO["AWS::StackId"].replace("8d2f1c60", "4be07a91")})
    assert again[RETAINED_LOGS[function]]["Properties"]["LogGroupName"] != name
    # The function logs into that group, and its role may write there.
    properties = hub[function]["Properties"]
    assert properties["LoggingConfig"]["LogGroup"] == f"<{RETAINED_LOGS[function]}>"
    writes = [
        s
        for policy in hub[JANITORS[function]]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Sid") == "WriteOwnLogs"
    ]
    (statement,) = writes
    assert statement["Resource"].endswith(f":log-group:${{{RETAINED_LOGS[function]}}}:*"), statement[
        "Resource"
    ]
