"""The concurrent batch processor: records really overlap, same-key records take turns, order is kept."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from email_sender.batch_processor import likely_idempotency_key, process_batch, sqs_records


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

        self.failures: list[tuple[str, Exception]] = []

    def __call__(self, record: dict[str, Any]) -> str:
        message_id = record["messageId"]
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.started.append(message_id)
        try:
            time.sleep(self.delays.get(message_id, 0.02))
            if message_id in self.fail:
                raise RuntimeError(message_id)
            return str(message_id)
        finally:
            with self.lock:
                self.in_flight -= 1

    def on_failure(self, record: dict[str, Any], exc: Exception) -> None:
        with self.lock:
            self.failures.append((record["messageId"], exc))


def run(records: list[dict[str, Any]], probe: Probe, concurrency: int) -> list[str]:
    response = process_batch(
        records, probe, probe.on_failure, concurrency=concurrency, group_key=likely_idempotency_key
    )
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
    assert sorted((message_id, str(exc)) for message_id, exc in probe.failures) == [
        ("1", "1"),
        ("4", "4"),
        ("8", "8"),
    ]


def test_with_concurrency_1_records_run_in_batch_order_on_the_calling_thread() -> None:
    seen: list[tuple[str, str]] = []
    records = [record(m, {"idempotency_key": key}) for m, key in [("a", "k"), ("b", "j"), ("c", "k")]]

    def handle(item: dict[str, Any]) -> None:
        seen.append((item["messageId"], threading.current_thread().name))

    assert process_batch(records, handle, Probe().on_failure, group_key=likely_idempotency_key) == {
        "batchItemFailures": []
    }
    assert seen == [(m, threading.current_thread().name) for m in "abc"]


def test_every_record_failing_is_a_normal_partial_response() -> None:
    probe = Probe(fail=frozenset("abc"))
    assert run([record(m) for m in "abc"], probe, 2) == ["a", "b", "c"]


def test_an_empty_batch_has_no_failures() -> None:
    assert process_batch([], Probe(), Probe().on_failure, concurrency=10) == {"batchItemFailures": []}


def test_a_base_exception_is_not_swallowed() -> None:
    def interrupt(item: dict[str, Any]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_batch([record("a"), record("b")], interrupt, Probe().on_failure, concurrency=2)


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": {"messageId": "a"}}])
def test_an_event_without_a_records_list_is_refused(event: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not an SQS event"):
        sqs_records(event)


def test_sqs_records_returns_the_records() -> None:
    records = [record("a")]
    assert sqs_records({"Records": records}) is records


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
