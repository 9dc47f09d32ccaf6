"""The release cap across two regions, the savings figure, and the report email."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from groundskeeper.notify import Notifier
from tests.integration.eip_janitor.conftest import IDLE, Fleet, days_ago

Run = Callable[..., dict[str, Any]]
REGIONS = ("us-east-1", "eu-west-1")


def test_cap_holds_across_regions_oldest_first(fleet: Fleet, run_janitor: Run) -> None:
    # Ages interleave across the regions: the cap must pick the globally oldest, not per region.
    east = [fleet.allocate("us-east-1", **{IDLE: days_ago(days)}) for days in (30, 12, 9)]
    west = [fleet.allocate("eu-west-1", **{IDLE: days_ago(days)}) for days in (40, 20, 8)]

    report = run_janitor(regions=REGIONS, max_releases_per_run=4)

    us, eu = report["regions"]["us-east-1"], report["regions"]["eu-west-1"]
    assert sorted(us["released"]) == sorted(east[:2])
    assert sorted(eu["released"]) == sorted(west[:2])
    assert (us["deferred"], eu["deferred"]) == ([east[2]], [west[2]])
    assert (report["released_count"], report["deferred_count"]) == (4, 2)
    assert report["estimated_monthly_savings_usd"] == pytest.approx(4 * 0.005 * 720)
    assert set(fleet.addresses("us-east-1")) == {east[2]}
    assert set(fleet.addresses("eu-west-1")) == {west[2]}


def test_report_email_is_queued_once_per_run_with_flat_strings(fleet: Fleet, run_janitor: Run) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="emails")["QueueUrl"]
    released = fleet.allocate(**{IDLE: days_ago(10)})

    report = run_janitor(notify=Notifier(queue_url, ("ops@example.com",)))

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    request = json.loads(messages[0]["Body"])
    assert request["template"] == "eip-janitor-report"
    assert request["to"] == ["ops@example.com"]
    assert request["idempotency_key"] == "eip-janitor:7bf73129-1428-4cd3-a780-95db273d1602"
    assert all(isinstance(value, str) for value in request["data"].values())
    assert (request["data"]["released_count"], request["data"]["savings_usd"]) == ("1", "3.60")
    assert released in request["data"]["summary"]
    assert report["notification_id"] == messages[0]["MessageId"]


def test_nothing_to_say_sends_nothing(fleet: Fleet, run_janitor: Run) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="emails")["QueueUrl"]
    fleet.allocate()  # only marked: routine, no email

    report = run_janitor(notify=Notifier(queue_url, ("ops@example.com",)))

    assert report["marked_count"] == 1
    assert report["notification_id"] is None
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
