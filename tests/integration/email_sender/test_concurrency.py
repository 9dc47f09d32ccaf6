"""One invocation delivers its records at once (SEND_CONCURRENCY) and keeps every guarantee doing so."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from email_sender import handler, sender
from email_sender.sender import Invocation
from groundskeeper.aws_clients import client, single_attempt_client
from groundskeeper.observability import logger
from tests.integration.email_sender.conftest import SenderWorld, welcome

PAUSED = ("AccountSendingPausedException", "Sending paused for this account.", 400)
WAIT_SECONDS = 5  # how long a hook waits for another thread before the test gives up


@contextlib.contextmanager
def handled_lines() -> Iterator[list[dict[str, Any]]]:
    """The "email request handled" log lines written inside the block (filled in when it ends)."""
    # Powertools' Logger keeps the stream it started with; point it at a buffer meanwhile.
    log, lines = io.StringIO(), []
    previous = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    try:
        yield lines
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
        parsed = [json.loads(line) for line in log.getvalue().splitlines()]
        lines.extend(line for line in parsed if line.get("message") == "email request handled")


class Senders:
    """Wraps the handler's sender: remembers the last invocation and signals each finished record."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.invocations: list[Invocation] = []
        self.finished: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        handle = handler.SENDER.handle

        def recording(record: dict[str, Any], invocation: Invocation) -> Any:
            with self._lock:
                if invocation not in self.invocations:
                    self.invocations.append(invocation)
            try:
                return handle(record, invocation)
            finally:
                self.finished_event(record["messageId"]).set()

        monkeypatch.setattr(handler.SENDER, "handle", recording)

    def finished_event(self, message_id: str) -> threading.Event:
        with self._lock:
            return self.finished.setdefault(message_id, threading.Event())

    def wait_until_paused(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (self.invocations and self.invocations[-1].paused_by):
            assert time.monotonic() < deadline, "no record saw the pause"
            time.sleep(0.005)


def track_in_flight(operation: str, delay: float) -> Callable[[], int]:
    """Slow every SES `operation` call by `delay`; returns a function giving the most calls seen at once."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def start(**_: Any) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(delay)

    def end(**_: Any) -> None:
        with lock:
            state["now"] -= 1

    ses = single_attempt_client("ses") if operation == "SendEmail" else client("ses")
    ses.meta.events.register(f"before-call.ses.{operation}", start)
    ses.meta.events.register(f"after-call.ses.{operation}", end)
    return lambda: state["max"]


@pytest.mark.parametrize("concurrency", [1, 10])
def test_sends_overlap_only_with_concurrency(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    world.configure(send_concurrency=concurrency)
    world.invoke(world.record(welcome("warm@example.com")))  # the template is cached from here on
    max_in_flight = track_in_flight("SendEmail", 0.05)
    records = [world.record(welcome(f"u{i}@example.com")) for i in range(10)]

    assert world.invoke(*records) == {"batchItemFailures": []}

    assert len(world.sent()) == 11
    if concurrency == 1:
        assert max_in_flight() == 1
    else:
        assert max_in_flight() > 1


def test_concurrent_first_uses_fetch_and_publish_the_template_once(world: SenderWorld) -> None:
    max_in_flight = track_in_flight("GetTemplate", 0.05)  # a slow fetch: the others arrive meanwhile
    records = [world.record(welcome(f"u{i}@example.com")) for i in range(10)]

    assert world.invoke(*records) == {"batchItemFailures": []}

    assert (world.calls["ses.GetTemplate"], world.calls["ses.CreateTemplate"]) == (1, 1)
    assert max_in_flight() == 1
    assert len(world.sent()) == 10


def test_records_with_one_key_in_one_batch_send_once_without_retries(world: SenderWorld) -> None:
    track_in_flight("SendEmail", 0.05)  # the first of a pair is still sending when the next runs
    records = [world.record(welcome(f"u{i % 5}@example.com", idempotency_key=f"k{i % 5}")) for i in range(10)]

    assert world.invoke(*records) == {"batchItemFailures": []}

    assert Counter(m.destinations["ToAddresses"][0] for m in world.sent()) == {
        f"u{i}@example.com": 1 for i in range(5)
    }


def test_a_duplicate_whose_twin_is_in_progress_is_retried_then_skipped(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What happens when two records with one key do run at once (the key was guessed wrong, or the
    twin is in another invocation): the in-progress lock refuses one, which is retried."""
    senders = Senders(monkeypatch)
    monkeypatch.setattr(sender, "likely_idempotency_key", lambda record: record["messageId"])
    pair = [world.record(welcome("ada@example.com", idempotency_key="k")) for _ in range(2)]

    def hold_the_send(params: dict[str, Any]) -> None:
        # The sending record is past its in-progress write; let its twin run into it before sending.
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(event.is_set() for event in senders.finished.values()):
            assert time.monotonic() < deadline, "the twin never finished"
            time.sleep(0.005)

    world.fail_ses("SendEmail", hold_the_send)

    with handled_lines() as lines:
        [refused] = world.failed_ids(world.invoke(*pair))

    outcomes = {line["message_id"]: (line["outcome"], line.get("error_code")) for line in lines}
    assert outcomes[refused] == ("retry", "SendInProgress")

    assert len(world.sent()) == 1
    retry = next(record for record in pair if record["messageId"] == refused)
    assert world.invoke(retry) == {"batchItemFailures": []}  # SQS's retry: a duplicate now
    assert len(world.sent()) == 1
    assert world.dead_letters() == []
    assert [item["status"]["S"] for item in world.idempotency_items()] == ["COMPLETED"]


def test_paused_an_in_flight_send_finishes_and_records_not_started_make_no_call(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.configure(send_concurrency=2)
    senders = Senders(monkeypatch)
    world.invoke(world.record(welcome("warm@example.com")))
    calls_before = Counter(world.calls)
    a, b, c, d = (world.record(welcome(f"{name}@example.com")) for name in "abcd")

    def decide(params: dict[str, Any]) -> tuple[str, str, int] | None:
        if params["Destination"]["ToAddresses"] == ["b@example.com"]:
            return PAUSED
        senders.wait_until_paused()  # a's send is already under way when b sees the pause
        return None

    world.fail_ses("SendEmail", decide)

    result = world.invoke(a, b, c, d)

    assert world.failed_ids(result) == [b["messageId"], c["messageId"], d["messageId"]]
    assert [m.destinations["ToAddresses"] for m in world.sent()][1:] == [["a@example.com"]]
    calls = Counter(world.calls)
    calls.subtract(calls_before)
    assert calls["ses.SendEmail"] == 2  # a and b; c and d never started
    assert calls["dynamodb.PutItem"] == 2
    assert len(world.idempotency_items()) == 2  # warm-up and a, both completed


def test_paused_a_started_record_stops_before_its_send(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.configure(send_concurrency=2)
    senders = Senders(monkeypatch)
    world.fail_ses("SendEmail", lambda params: PAUSED)
    lock, first_write = threading.Lock(), {"seen": False}

    def hold_the_first_in_progress_write(**_: Any) -> None:
        with lock:
            is_first, first_write["seen"] = not first_write["seen"], True
        if is_first:  # this record has started; the other one meets the pause meanwhile
            senders.wait_until_paused()

    client("dynamodb").meta.events.register("before-call.dynamodb.PutItem", hold_the_first_in_progress_write)
    records = [world.record(welcome(f"u{i}@example.com")) for i in range(2)]

    result = world.invoke(*records)

    assert world.failed_ids(result) == [r["messageId"] for r in records]
    assert world.calls["ses.SendEmail"] == 1  # the held record never called SES
    assert world.calls["dynamodb.PutItem"] == 2
    assert world.calls["dynamodb.DeleteItem"] == 2  # both in-progress locks released, so retries send
    assert world.idempotency_items() == [] and world.sent() == []


def test_paused_with_more_records_than_threads(world: SenderWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.configure(send_concurrency=3)
    world.fail_ses("SendEmail", lambda params: PAUSED)
    records = [world.record(welcome(f"u{i}@example.com")) for i in range(9)]

    result = world.invoke(*records)

    assert world.failed_ids(result) == [r["messageId"] for r in records]
    assert 1 <= world.calls["ses.SendEmail"] <= 3  # at most the records already in flight
    assert world.calls["dynamodb.PutItem"] <= 3
    assert world.calls["ses.GetTemplate"] == 1
    assert world.sent() == [] and world.idempotency_items() == []


def test_counts_and_logs_from_many_threads_add_up(
    world: SenderWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    track_in_flight("SendEmail", 0.02)
    missing = {"template": "example-welcome", "to": ["m@example.com"], "data": {"name": "x"}}
    records = (
        [world.record(welcome(f"u{i}@example.com")) for i in range(4)]
        + [world.record("{bad") for _ in range(3)]
        + [world.record(missing) for _ in range(3)]
    )
    capsys.readouterr()
    with handled_lines() as handled:
        assert world.invoke(*records) == {"batchItemFailures": []}

    assert Counter(line["outcome"] for line in handled) == {"sent": 4, "dead_lettered": 6}
    # Lines written on the pool's threads still carry the invocation's context.
    assert {line["function_request_id"] for line in handled} == {world.lambda_context.aws_request_id}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    totals = [(blob["EmailsSent"], blob["EmailsDeadLettered"]) for blob in emf if "EmailsSent" in blob]
    assert totals == [([4.0], [6.0])]  # one count per invocation
    by_code = {blob["error_code"]: blob["EmailsDeadLettered"] for blob in emf if "error_code" in blob}
    assert by_code == {"InvalidMessage": [3.0], "MissingRenderingAttribute": [3.0]}
