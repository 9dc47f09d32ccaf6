"""Every queue where failures are parked has an alarm, in the transformed template as SAM deploys it: a dead
letter nobody hears about is a failure lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.rehearse.transform import transformed

HUB_MODE = {"MemberAccounts": "111111111111,222222222222", "CorsSweepEnabled": "true"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed(parameters=HUB_MODE)


def _parking_queues(node: Any) -> Iterator[str]:
    """Logical ids of the queues that a queue's redrive policy, a function's dead-letter config or an
    asynchronous invocation's on-failure destination sends to."""
    if isinstance(node, list):
        for item in node:
            yield from _parking_queues(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            target = {
                "deadLetterTargetArn": value,
                "DeadLetterConfig": value.get("TargetArn") if isinstance(value, dict) else None,
                "OnFailure": value.get("Destination") if isinstance(value, dict) else None,
            }.get(key)
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                yield target["Fn::GetAtt"][0]
            else:
                yield from _parking_queues(value)


def _alarmed_queue(alarm: dict[str, Any]) -> str | None:
    properties = alarm["Properties"]
    if properties.get("Namespace") != "AWS/SQS":
        return None
    if properties.get("MetricName") != "ApproximateNumberOfMessagesVisible":
        return None
    if (properties.get("ComparisonOperator"), properties.get("Threshold")) != ("GreaterThanThreshold", 0):
        return None
    for dimension in properties.get("Dimensions", []):
        value = dimension.get("Value")
        if dimension.get("Name") == "QueueName" and isinstance(value, dict) and "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def test_the_template_parks_failures_in_the_queues_we_expect(template: dict[str, Any]) -> None:
    assert set(_parking_queues(template["Resources"])) == {
        "EmailDeadLetterQueue",
        "AsyncFailureQueue",
        "OrgWorkDeadLetterQueue",
    }


def test_every_parking_queue_has_an_alarm_on_its_first_message_under_the_same_condition(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    alarms = {
        _alarmed_queue(resource): resource
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    for queue in set(_parking_queues(resources)):
        assert queue in alarms, f"{queue} parks failures and has no alarm"
        assert alarms[queue].get("Condition") == resources[queue].get("Condition"), queue
        assert alarms[queue]["Properties"]["AlarmActions"], queue
