"""The janitor's handler under moto with inputs nobody on the project wrote: odd events, tags, ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from eip_janitor.handlers import schedule
from eip_janitor.settings import Settings
from email_sender.email_request import parse_email_request
from groundskeeper.notify import Notifier
from tests.conftest import load_event
from tests.integration.eip_janitor.conftest import IDLE, Fleet, days_ago

Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(aws: None, monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Invoke:
    """The real handler, with any event and the given settings (DRY_RUN=false unless told)."""

    def run(event: Any, **overrides: Any) -> dict[str, Any]:
        settings = replace(Settings(dry_run=False, regions=("us-east-1", "eu-west-1")), **overrides)
        monkeypatch.setattr(schedule, "SETTINGS", settings)
        result: dict[str, Any] = schedule.lambda_handler(event, lambda_context)
        return result

    return run


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_an_out_of_range_idle_tag_is_re_marked_and_the_run_goes_on(
    fleet: Fleet, invoke: Invoke, value: str, dry_run: bool
) -> None:
    poisoned = fleet.allocate("us-east-1", **{IDLE: value})
    old = fleet.allocate("eu-west-1", **{IDLE: days_ago(10)})

    report = invoke(load_event("schedule-eip-janitor.json"), dry_run=dry_run)

    us, eu = report["regions"]["us-east-1"], report["regions"]["eu-west-1"]
    assert poisoned in us["marked"]
    assert old in (eu["would_release"] if dry_run else eu["released"])
    tag = fleet.tags(poisoned)[IDLE]
    if dry_run:
        assert tag == value
    else:
        assert datetime.now(UTC) - datetime.fromisoformat(tag) < timedelta(minutes=5)


@pytest.mark.parametrize("event", [None, [], "run", 7, {"id": None}, {"id": {"nested": True}}])
def test_an_event_that_is_not_an_object_is_a_manual_run(
    fleet: Fleet, invoke: Invoke, event: Any, lambda_context: Any
) -> None:
    idle = fleet.allocate("us-east-1")
    report = invoke(event, dry_run=True)
    assert report["run_id"] == lambda_context.aws_request_id
    assert idle in report["regions"]["us-east-1"]["marked"]


def test_a_300_character_event_id_still_gives_an_email_the_sender_accepts(
    fleet: Fleet, invoke: Invoke
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="emails")["QueueUrl"]
    fleet.allocate("us-east-1", **{IDLE: days_ago(10)})
    event = {**load_event("schedule-eip-janitor.json"), "id": "e" * 300}

    invoke(event, notify=Notifier(queue_url, ("ops@example.com",)))

    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    key = json.loads(message["Body"])["idempotency_key"]
    assert len(key) <= 256
    assert parse_email_request(message["Body"], "groundskeeper@example.com").idempotency_key == key
