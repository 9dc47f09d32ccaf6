"""Every queue where failures are parked has an alarm, in the stacks SAM deploys: the transformed template
and the nested stacks it creates, with and without hub mode. A dead letter nobody hears about is a failure
lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.rehearse.nested import Attribute, Stack
from scripts.rehearse.transform import transformed

HUB_MODE = {"MemberAccounts": "111111111111,222222222222", "CorsSweepEnabled": "true"}
MODES = {"single account": {}, "hub mode": HUB_MODE}


@pytest.fixture(scope="module", params=sorted(MODES))
def deployed(request: pytest.FixtureRequest) -> Stack:
    parameters = MODES[request.param]
    return Stack(transformed(parameters=parameters), parameters)


def _parking_targets(node: Any) -> Iterator[Any]:
    """The values naming a queue that a queue's redrive policy, a function's dead-letter config or an
    asynchronous invocation's on-failure destination sends to."""
    if isinstance(node, list):
        for item in node:
            yield from _parking_targets(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            target = {
                "deadLetterTargetArn": value,
                "DeadLetterConfig": value.get("TargetArn") if isinstance(value, dict) else None,
                "OnFailure": value.get("Destination") if isinstance(value, dict) else None,
            }.get(key)
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                yield target
            else:
                yield from _parking_targets(value)


def _parking_queues(deployed: Stack) -> set[tuple[str, str]]:
    """(stack path, logical id) of every queue, in any of the stacks, where failures are parked."""
    queues = set()
    for stack in deployed.stacks():
        for target in _parking_targets(stack.resources()):
            queue = stack.resolve(target)
            assert isinstance(queue, Attribute), target
            queues.add((queue.path, queue.logical))
    return queues


def _alarmed_queues(deployed: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """(stack path, logical id) of each queue an alarm watches for its first visible message -> the alarm."""
    alarmed = {}
    for stack in deployed.stacks():
        for alarm in stack.resources("AWS::CloudWatch::Alarm").values():
            properties = alarm["Properties"]
            if (properties.get("Namespace"), properties.get("MetricName")) != (
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
            ):
                continue
            if (properties.get("ComparisonOperator"), properties.get("Threshold")) != (
                "GreaterThanThreshold",
                0,
            ):
                continue
            for dimension in properties.get("Dimensions", []):
                queue = stack.resolve(dimension.get("Value"))
                if dimension.get("Name") == "QueueName" and isinstance(queue, Attribute):
                    alarmed[(queue.path, queue.logical)] = alarm
    return alarmed


def test_the_template_parks_failures_in_the_queues_we_expect(deployed: Stack) -> None:
    hub_mode = deployed.condition("HasMemberAccounts")
    assert {logical for _, logical in _parking_queues(deployed)} == {
        "EmailDeadLetterQueue",
        "AsyncFailureQueue",
        *(["OrgWorkDeadLetterQueue"] if hub_mode else []),
    }


def test_every_parking_queue_has_an_alarm_on_its_first_message(deployed: Stack) -> None:
    alarmed = _alarmed_queues(deployed)
    for queue in _parking_queues(deployed):
        assert queue in alarmed, f"{queue} parks failures and has no alarm"
        assert alarmed[queue]["Properties"]["AlarmActions"], queue


def test_alarms_live_in_the_observability_stack(deployed: Stack) -> None:
    assert not deployed.resources("AWS::CloudWatch::Alarm")
    assert deployed.children["Observability"].resources("AWS::CloudWatch::Alarm")
