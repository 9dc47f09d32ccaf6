"""The concurrent batch processor: records really overlap, same-key records take turns, order is kept."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from email_sender.sender import EmailBatchProcessor, likely_idempotency_key


def record(message_id: str, body: str | dict[str, Any] = "{}") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "h",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


class Probe:
    """A record handler that tracks how many calls overlap and in which order each key ran."""

    def __init__(self, delays: dict[str, float] | None = None, fail: frozenset[str] = frozenset()) -> None:
        self.delays = delays or {}
        self.fail = fail
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.started: list[str] = []

    def __call__(self, record: SQSRecord) -> str:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.started.append(record.message_id)
        try:
            time.sleep(self.delays.get(record.message_id, 0.02))
            if record.message_id in self.fail:
                raise RuntimeError(record.message_id)
            return record.message_id
        finally:
            with self.lock:
                self.in_flight -= 1


def run(records: list[dict[str, Any]], probe: Probe, concurrency: int) -> list[str]:
    processor = EmailBatchProcessor(concurrency, likely_idempotency_key)
    response = process_partial_response({"Records": records}, probe, processor)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


@pytest.mark.parametrize(("concurrency", "expected"), [(1, 1), (4, 4), (10, 10)])
def test_records_overlap_up_to_the_concurrency(concurrency: int, expected: int) -> None:
    probe = Probe(delays=dict.fromkeys((str(i) for i in range(10)), 0.1))
    assert run([record(str(i)) for i in range(10)], probe, concurrency) == []
    assert probe.max_in_flight == expected


def test_failures_keep_the_batch_order_whatever_order_threads_finish_in() -> None:
    # Earlier records take longest, so they finish last.
    probe = Probe(delays={str(i): 0.01 * (10 - i) for i in range(10)}, fail=frozenset({"1", "4", "8"}))
    assert run([record(str(i)) for i in range(10)], probe, 10) == ["1", "4", "8"]


def test_records_with_one_idempotency_key_take_turns_in_batch_order() -> None:
    records = [
        record("a", {"idempotency_key": "k"}),
        record("b", {"idempotency_key": "other"}),
        record("c", {"idempotency_key": "k"}),
        record("x", "{not json"),
        record("x", "{not json"),  # SQS delivered message x twice: no key, so grouped by message id
        record("d", {"idempotency_key": "k"}),
    ]
    probe = Probe(delays=dict.fromkeys("abcdx", 0.1))
    assert run(records, probe, 10) == []
    assert [m for m in probe.started if m in {"a", "c", "d"}] == ["a", "c", "d"]
    # Three groups (k, other, x): they overlap, the records inside one never do.
    assert 1 < probe.max_in_flight <= 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"idempotency_key": "k1", "to": ["a@b.c"]}, "k1"),
        ({"to": ["a@b.c"]}, "mid"),
        ({"idempotency_key": ""}, "mid"),
        ({"idempotency_key": 7}, "mid"),
        ('["idempotency_key"]', "mid"),
        ("{not json", "mid"),
        ("[" * 100_000, "mid"),  # too deep for the json module
        ("", "mid"),
    ],
)
def test_likely_idempotency_key(body: str | dict[str, Any], expected: str) -> None:
    assert likely_idempotency_key(record("mid", body)) == expected
