"""Hub mode's work queues as CloudFormation would deploy them: the nested templates/hub.yaml with the numbers
the root passes it. Each worker consumes its own queue, dead-letters into that queue's redrive target, and
knows its maxReceiveCount (the same Mappings value), so the last receive is the one it dead-letters with a
reason; and the planner is told its job by the schedule that invokes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.rehearse.transform import transformed
from tests.unit.deployed_template import deployed, deployed_hub, hub_template

HUB_MODE = {"MemberAccounts": "111111111111", "CorsSweepEnabled": "true"}
# worker function -> the job's queue (its logical id in templates/hub.yaml)
WORKERS = {"EipOrgWorkerFunction": "JanitorWorkQueue", "CorsOrgWorkerFunction": "CorsSweepWorkQueue"}
# AWS: a function's SQS queue should have a visibility timeout of at least six times its timeout.
VISIBILITY_PER_TIMEOUT = 6


@pytest.fixture(scope="module")
def root() -> dict[str, Any]:
    return deployed(HUB_MODE)


@pytest.fixture(scope="module")
def hub() -> dict[str, Any]:
    resources = deployed_hub(HUB_MODE)
    assert resources is not None
    return resources


def hub_output(name: str) -> str:
    """How the root sees one of the nested stack's outputs, once resolved."""
    return f"<Hub.Outputs.{name}>"


def test_the_hub_stack_exists_only_in_hub_mode() -> None:
    template = transformed()
    assert template["Resources"]["Hub"]["Condition"] == "HasMemberAccounts"
    assert deployed_hub({}) is None
    # Plain CloudFormation: the nested template is deployed as written.
    assert "Transform" not in hub_template()


def test_every_output_names_its_own_queue() -> None:
    outputs = hub_template()["Outputs"]
    for queue in ("JanitorWorkQueue", "CorsSweepWorkQueue", "OrgWorkDeadLetterQueue"):
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}
        assert outputs[f"{queue}Arn"]["Value"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert outputs[f"{queue}Name"]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}


@pytest.mark.parametrize(("function", "queue"), sorted(WORKERS.items()))
def test_a_worker_knows_its_queues_redrive(
    root: dict[str, Any], hub: dict[str, Any], function: str, queue: str
) -> None:
    env = root[function]["Properties"]["Environment"]["Variables"]
    redrive = hub[queue]["Properties"]["RedrivePolicy"]
    assert "ORG_WORK_QUEUE_URL" not in env  # its event source mapping reads the queue
    assert env["ORG_DEAD_LETTER_QUEUE_URL"] == hub_output("OrgWorkDeadLetterQueueUrl")
    assert redrive["deadLetterTargetArn"] == "<OrgWorkDeadLetterQueue.Arn>"
    assert int(env["ORG_MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"]) == 3


def test_the_receive_count_is_written_once() -> None:
    """Both sides read the one Mappings value: neither can drift from the other."""
    template = transformed(parameters=HUB_MODE)
    resources = template["Resources"]
    shared = {"Fn::FindInMap": ["OrgWork", "Queues", "MaxReceiveCount"]}
    assert resources["Hub"]["Properties"]["Parameters"]["MaxReceiveCount"] == shared
    for function in WORKERS:
        assert (
            resources[function]["Properties"]["Environment"]["Variables"]["ORG_MAX_RECEIVE_COUNT"] == shared
        )
    for queue in WORKERS.values():
        redrive = hub_template()["Resources"][queue]["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}


@pytest.mark.parametrize(("function", "queue"), sorted(WORKERS.items()))
def test_a_worker_consumes_only_its_own_queue(
    root: dict[str, Any], hub: dict[str, Any], function: str, queue: str
) -> None:
    mappings = [r["Properties"] for r in root.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    (mapping,) = [m for m in mappings if m["EventSourceArn"] == hub_output(f"{queue}Arn")]
    assert mapping["FunctionName"] == f"<{function}Aliaslive>"
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": "10"}
    timeout = int(root[function]["Properties"]["Timeout"])
    assert int(hub[queue]["Properties"]["VisibilityTimeout"]) >= VISIBILITY_PER_TIMEOUT * timeout


def test_the_planner_is_told_its_job_by_each_schedule(root: dict[str, Any]) -> None:
    env = root["OrgPlannerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["JANITOR_WORK_QUEUE_URL"] == hub_output("JanitorWorkQueueUrl")
    assert env["CORS_SWEEP_WORK_QUEUE_URL"] == hub_output("CorsSweepWorkQueueUrl")
    jobs = {}
    for rule in ("OrgPlannerJanitorSchedule", "OrgPlannerSweepSchedule"):
        (target,) = root[rule]["Properties"]["Targets"]
        assert target["Arn"] == "<OrgPlannerFunctionAliaslive>"
        transformer = target["InputTransformer"]
        assert transformer["InputPathsMap"] == {"id": "$.id", "time": "$.time"}
        # What EventBridge sends, for an event's id and time (it quotes string values itself).
        sent = (
            transformer["InputTemplate"].replace("<id>", '"e-1"').replace("<time>", '"2025-01-01T00:00:00Z"')
        )
        body = json.loads(sent)
        assert (body["id"], body["time"]) == ("e-1", "2025-01-01T00:00:00Z")
        jobs[rule] = (body["job"], root[rule]["Properties"]["ScheduleExpression"])
        permission = [
            r["Properties"]
            for r in root.values()
            if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["SourceArn"] == f"<{rule}.Arn>"
        ]
        assert [p["FunctionName"] for p in permission] == ["<OrgPlannerFunctionAliaslive>"]
    assert jobs == {
        "OrgPlannerJanitorSchedule": ("eip-janitor", "rate(1 day)"),
        "OrgPlannerSweepSchedule": ("cors-sweep", "rate(1 day)"),
    }


@pytest.mark.parametrize(
    ("parameters", "janitor", "sweep", "planned"),
    [
        ({}, "ENABLED", False, {}),
        ({"CorsSweepEnabled": "true"}, "ENABLED", True, {}),
        (
            HUB_MODE,
            "DISABLED",
            False,
            {"OrgPlannerJanitorSchedule": "ENABLED", "OrgPlannerSweepSchedule": "ENABLED"},
        ),
        (
            {"MemberAccounts": "organization"},
            "DISABLED",
            False,
            {"OrgPlannerJanitorSchedule": "ENABLED", "OrgPlannerSweepSchedule": "DISABLED"},
        ),
    ],
)
def test_each_schedule_runs_once(
    parameters: dict[str, str], janitor: str, sweep: bool, planned: dict[str, str]
) -> None:
    """In hub mode the planner takes over the janitor's and the sweep's schedules: the single-account sweep
    function is not deployed, and the janitor's own rule is off (a manual invoke still sweeps the hub)."""
    resources = deployed(parameters)
    assert resources["EipJanitorFunctionDaily"]["Properties"]["State"] == janitor
    assert ("CorsSweepFunctionSweep" in resources) == ("CorsSweepFunction" in resources) == sweep
    rules = {
        name: resource["Properties"]["State"]
        for name, resource in resources.items()
        if name.startswith("OrgPlanner") and resource["Type"] == "AWS::Events::Rule"
    }
    assert rules == planned
