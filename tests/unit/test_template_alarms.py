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


def _alarm(deployed: Stack, logical: str) -> dict[str, Any]:
    properties: dict[str, Any] = deployed.children["Observability"].resources("AWS::CloudWatch::Alarm")[
        logical
    ]["Properties"]
    return properties


def test_ses_reputation_alarms_warn_below_the_review_thresholds(deployed: Stack) -> None:
    """AWS reviews an account at a 5 % bounce or 0.1 % complaint rate: an alarm there is no warning."""
    observability = deployed.children["Observability"]
    bounce = observability.resolve(_alarm(deployed, "SesBounceRateAlarm")["Threshold"])
    complaint = observability.resolve(_alarm(deployed, "SesComplaintRateAlarm")["Threshold"])
    assert (float(bounce), float(complaint)) == (0.025, 0.0005)
    root = transformed()["Parameters"]
    assert (root["BounceRateAlarmThreshold"]["Default"], root["ComplaintRateAlarmThreshold"]["Default"]) == (
        0.025,
        0.0005,
    )
    assert root["BounceRateAlarmThreshold"]["MaxValue"] < 0.05
    assert root["ComplaintRateAlarmThreshold"]["MaxValue"] < 0.001


def test_a_dns_guard_that_fails_closed_raises_an_alarm(deployed: Stack) -> None:
    """The guard stops every release when a zone cannot be read; only the email would say so."""
    alarm = _alarm(deployed, "JanitorDnsGuardAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Groundskeeper", "DnsGuardFailures")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "eip-janitor"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["Statistic"]) == (
        "GreaterThanThreshold",
        0,
        "Sum",
    )
    assert alarm["AlarmActions"]


def test_rule_failures_watch_every_rule_of_the_stack() -> None:
    """Each EventBridge rule the stack can deploy is one term of the rule-failures alarm."""
    parameters = {"WatchedBuckets": "a-bucket", "CorsChangeTrigger": "true", "CorsSweepEnabled": "true"}
    stack = Stack(transformed(parameters=parameters), parameters)
    rules = {name for name, resource in stack.resources("AWS::Events::Rule").items()}
    observability = stack.children["Observability"]
    alarm = observability.resources("AWS::CloudWatch::Alarm")["ScheduledRulesFailedAlarm"]["Properties"]
    watched = set()
    for metric in alarm["Metrics"]:
        if "MetricStat" in metric:
            [dimension] = metric["MetricStat"]["Metric"]["Dimensions"]
            value = observability.resolve(dimension["Value"])
            watched.add(getattr(value, "logical", value))
    assert rules <= watched, sorted(rules - watched)
    terms = [m["Id"] for m in alarm["Metrics"] if "MetricStat" in m]
    [expression] = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert all(f"FILL({term}, 0)" in expression for term in terms)
