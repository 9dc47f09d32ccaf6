"""A run's record under moto: the parts as stored and read back (strongly consistent, since the last worker
reads the others' parts right after they were written), an oversized part, and when the run's email goes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from groundskeeper.notify import Notifier
from groundskeeper_org.runs import (
    KEY_PREFIX,
    MAX_PART_CHARS,
    TEMPLATE,
    AccountPart,
    RunParts,
    WorkItem,
    email_data,
    notification_key,
    ok_part,
    process_work_item,
)
from tests.integration.org.conftest import TABLE

A, B = "111111111111", "222222222222"
JOB = "cors-sweep"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TO = ("ops@example.com",)


@pytest.fixture
def parts(runs_table: Any) -> RunParts:
    return RunParts(runs_table, TABLE)


@pytest.fixture
def email_queue(aws: None) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return sqs, sqs.create_queue(QueueName="email")["QueueUrl"]


@pytest.fixture
def reads(runs_table: Any) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Each GetItem and BatchGetItem the table is asked, with its parameters as sent."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        # DynamoDB speaks JSON: at before-call the body is the serialised request.
        seen.append((model.name, json.loads(params["body"])))

    runs_table.meta.events.register("before-call.dynamodb.GetItem", hook)
    runs_table.meta.events.register("before-call.dynamodb.BatchGetItem", hook)
    yield seen
    runs_table.meta.events.unregister("before-call.dynamodb.GetItem", hook)
    runs_table.meta.events.unregister("before-call.dynamodb.BatchGetItem", hook)


def found(account_id: str, findings: int) -> AccountPart:
    return ok_part(account_id, None, f"{findings} found", findings, {"checked": NOW})


def emails(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def work(
    parts: RunParts, email_queue: tuple[Any, str], run_id: str, sweep: Callable[[str], AccountPart]
) -> list[str | None]:
    """Plan the run for A and B, then work each account's item; the message id of the email, if any, each."""
    sqs, queue_url = email_queue
    parts.start(run_id, JOB, [A, B], NOW)
    notify = Notifier(queue_url=queue_url, recipients=TO)
    sent: list[str | None] = []
    for account_id in (A, B):
        item: WorkItem = {"run_id": run_id, "job": JOB, "account_id": account_id}
        sent.append(process_work_item(item, sweep, parts, notify=notify, sqs=sqs, now=NOW)[1])
    return sent


def test_a_run_with_no_record_has_no_parts(parts: RunParts) -> None:
    assert parts.parts("never-planned") == []


def test_a_part_is_read_back_as_stored_with_its_detail_as_json(parts: RunParts) -> None:
    parts.start("run-p", JOB, [B, A], NOW)
    for account_id in (A, B):
        parts.record("run-p", found(account_id, 1), NOW)
    read = parts.parts("run-p")
    assert [p["account_id"] for p in read] == [B, A]  # the header's order
    assert read[1] == {**found(A, 1), "detail": {"checked": str(NOW)}}


def sized(account_id: str, chars: int) -> AccountPart:
    """A part whose stored JSON is `chars` characters long."""
    part = ok_part(account_id, "team@example.com", "2 found", 2, {"rules": ""})
    padding = chars - len(json.dumps(part, sort_keys=True))
    return ok_part(account_id, "team@example.com", "2 found", 2, {"rules": "x" * padding})


def stored(runs_table: Any, run_id: str, account_id: str) -> str:
    """The part's item as the table holds it."""
    item = runs_table.get_item(TableName=TABLE, Key={"id": {"S": f"{KEY_PREFIX}{run_id}#{account_id}"}})
    return str(item["Item"]["part"]["S"])


def test_an_oversized_part_is_stored_without_its_detail(runs_table: Any, parts: RunParts) -> None:
    parts.start("run-big", JOB, [A, B], NOW)
    largest, oversized = sized(A, MAX_PART_CHARS), sized(B, MAX_PART_CHARS + 1)
    assert len(json.dumps(largest, sort_keys=True)) == MAX_PART_CHARS
    assert not parts.record("run-big", largest, NOW)  # one part of two: the run is not complete
    assert parts.record("run-big", oversized, NOW)
    truncated = {**oversized, "detail": {"truncated": True}}
    assert parts.parts("run-big") == [largest, truncated]
    # Stored as canonical JSON, keys sorted, whole or truncated: the same part is the same item.
    assert stored(runs_table, "run-big", A) == json.dumps(largest, sort_keys=True)
    assert stored(runs_table, "run-big", B) == json.dumps(truncated, sort_keys=True)


def test_the_parts_are_read_strongly_consistent(
    parts: RunParts, reads: list[tuple[str, dict[str, Any]]]
) -> None:
    parts.start("run-c", JOB, [A, B], NOW)
    for account_id in (A, B):
        parts.record("run-c", found(account_id, 0), NOW)
    reads.clear()
    assert len(parts.parts("run-c")) == 2
    assert [(name, body.get("ConsistentRead")) for name, body in reads if name == "GetItem"] == [
        ("GetItem", True)
    ]
    batches = [body["RequestItems"][TABLE] for name, body in reads if name == "BatchGetItem"]
    assert [(len(b["Keys"]), b["ConsistentRead"]) for b in batches] == [(2, True)]


def test_no_email_when_no_account_found_anything(parts: RunParts, email_queue: tuple[Any, str]) -> None:
    assert work(parts, email_queue, "run-quiet", lambda account_id: found(account_id, 0)) == [None, None]
    assert emails(*email_queue) == []


def test_the_last_part_sends_the_runs_email_once_with_every_part(
    parts: RunParts, email_queue: tuple[Any, str]
) -> None:
    sent = work(
        parts, email_queue, "run-e", lambda account_id: found(account_id, 1 if account_id == B else 0)
    )
    assert sent[0] is None and sent[1] is not None
    assert emails(*email_queue) == [
        {
            "template": TEMPLATE,
            "to": list(TO),
            "data": email_data("run-e", JOB, parts.parts("run-e")),
            "idempotency_key": notification_key("run-e", JOB),
        }
    ]
    assert email_data("run-e", JOB, parts.parts("run-e"))["run_id"] == "run-e"
