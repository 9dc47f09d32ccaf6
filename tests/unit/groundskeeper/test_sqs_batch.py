"""The SQS batch runner: records really overlap, same-key records take turns, order is kept, and the
dead-letter policy parks a permanent failure at once and any failure on the last receive, with its reason."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from groundskeeper.dead_letter import receive_count
from groundskeeper.errors import NotAnSqsBatch, PermanentError, TransientError
from groundskeeper.sqs_batch import DeadLettered, DeadLetterPolicy, process_batch, run_batch, sqs_records


def likely_idempotency_key(record: dict[str, Any]) -> str:
    """The group of a record: its body's idempotency_key, else its message id."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return str(record["messageId"])
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and key else str(record["messageId"])


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


def meet(parties: int) -> Any:
    """A record handler that returns only once `parties` records are in it at the same time.

    Records run one at a time never meet: the wait is bounded, and the record fails with BrokenBarrierError.
    """
    barrier = threading.Barrier(parties, timeout=10)

    def handle(item: dict[str, Any]) -> str:
        barrier.wait()
        return threading.current_thread().name

    return handle


@pytest.mark.parametrize("group_key", [None, likely_idempotency_key], ids=["no-group-key", "group-key"])
def test_with_a_concurrency_of_2_two_records_are_in_flight_at_once(group_key: Any) -> None:
    probe = Probe()
    response = process_batch(
        [record("a"), record("b")], meet(2), probe.on_failure, concurrency=2, group_key=group_key
    )
    assert (response, probe.failures) == ({"batchItemFailures": []}, [])


def test_concurrent_records_run_on_threads_named_sqs_batch() -> None:
    names: list[str] = []

    def handle(item: dict[str, Any]) -> None:
        names.append(threading.current_thread().name)

    process_batch([record("a"), record("b")], handle, Probe().on_failure, concurrency=2)
    assert len(names) == 2
    assert all(name.startswith("sqs-batch_") for name in names), names


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
    with pytest.raises(ValueError, match=r"^not an SQS event: no Records list$"):
        sqs_records(event)


def test_sqs_records_returns_the_records() -> None:
    records = [record("a")]
    assert sqs_records({"Records": records}) is records
    assert sqs_records({"Records": []}) == []


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (None, "the event is null, not an object with Records"),
        ([], "the event is a list of 0, not an object with Records"),
        ("run", "the event is the string 'run', not an object with Records"),
        (7, "the event is the number 7, not an object with Records"),
        (True, "the event is the boolean true, not an object with Records"),
        ({"Records": [None, 1, "x"]}, "Records[0] is null, not an SQS message"),
        ({"Records": [record("a"), 1]}, "Records[1] is the number 1, not an SQS message"),
        ({"Records": [record("a"), "x"]}, "Records[1] is the string 'x', not an SQS message"),
        ({"Records": [record("a"), [record("b")]]}, "Records[1] is a list of 1, not an SQS message"),
        ({"Records": [{"body": "{}"}]}, "Records[0] has no messageId"),
        ({"Records": [{**record("a"), "messageId": ""}]}, "Records[0] has no messageId"),
        ({"Records": [{**record("a"), "messageId": 7}]}, "Records[0] has no messageId"),
        ({"Records": [{"messageId": "a"}]}, "Records[0] has no body"),
        ({"Records": [{"messageId": "a", "body": None}]}, "Records[0] has no body"),
        (
            {"Records": [{"eventSource": "aws:s3", "s3": {}}]},
            "Records[0] has no messageId (an aws:s3 record)",
        ),
        (
            {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m"}}]},
            "Records[0] has no messageId (an aws:sns record)",
        ),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "Records[0] has no messageId"),
        ({"Records": [{"eventSource": 7, "body": "{}"}]}, "Records[0] has no messageId"),
        (
            {"Records": [{"eventSource": "aws:s3", "messageId": "a"}]},
            "Records[0] has no body (an aws:s3 record)",
        ),
        ({"Records": [("x",)]}, "Records[0] is a tuple, not an SQS message"),
        ("x" * 41, f"the event is the string {'x' * 40!r}, not an object with Records"),
        ({"Records": "all"}, "no Records list"),
    ],
)
def test_anything_but_a_batch_of_sqs_messages_is_refused_whole_with_the_first_problem(
    event: object, problem: str
) -> None:
    with pytest.raises(NotAnSqsBatch) as refused:
        sqs_records(event)
    assert str(refused.value) == f"not an SQS event: {problem}"
    assert isinstance(refused.value, ValueError)


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


# ------------------------------------------------------------------ the dead-letter policy


class FakeSqs:
    """The one call the policy makes: send_message to the dead-letter queue (or a refusal)."""

    def __init__(self, refuse: Exception | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse = refuse

    def send_message(self, **params: Any) -> dict[str, str]:
        if self.refuse:
            raise self.refuse
        self.sent.append(params)
        return {"MessageId": f"dlq-{len(self.sent)}"}


def received(message_id: str, receives: int, body: str = "{}") -> dict[str, Any]:
    return {**record(message_id, body), "attributes": {"ApproximateReceiveCount": str(receives)}}


def policy(sqs: FakeSqs, queue_url: str = "https://sqs/dlq", max_receive_count: int = 3) -> DeadLetterPolicy:
    return DeadLetterPolicy(sqs, queue_url, max_receive_count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "receives", "expected"),
    [
        (PermanentError("BadWorkItem", "not JSON"), 1, ("BadWorkItem", "not JSON")),
        (TransientError("Throttling", "slow down"), 1, None),
        (TransientError("Throttling", "slow down"), 2, None),
        (
            TransientError("Throttling", "slow down"),
            3,
            ("Throttling", "slow down (receive 3 of 3: not retried again)"),
        ),
        (ValueError("odd"), 4, ("ValueError", "odd (receive 4 of 3: not retried again)")),
    ],
)
def test_the_verdict_parks_a_permanent_failure_at_once_and_any_failure_on_the_last_receive(
    exc: Exception, receives: int, expected: tuple[str, str] | None
) -> None:
    assert policy(FakeSqs()).verdict(received("m", receives), exc) == expected


def test_without_a_queue_nothing_is_parked() -> None:
    assert policy(FakeSqs(), queue_url="").verdict(received("m", 9), PermanentError("X", "y")) is None


def test_a_parked_record_is_acknowledged_with_its_original_body_and_reason() -> None:
    sqs, parked, retried = FakeSqs(), list[DeadLettered](), list[tuple[str, Exception]]()

    def handle(item: dict[str, Any]) -> None:
        if item["messageId"] == "bad":
            raise PermanentError("BadWorkItem", "not JSON")
        if item["messageId"] in {"slow", "last"}:
            raise TransientError("Throttling", "slow down")

    records = [received("ok", 1), received("bad", 1, "{"), received("slow", 1), received("last", 3, "[1]")]
    response = run_batch(
        records,
        handle,
        policy=policy(sqs),
        on_retry=lambda item, exc: retried.append((item["messageId"], exc)),
        on_dead_lettered=parked.append,
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "slow"}]}
    assert [(p.record["messageId"], p.code, p.reason, p.dead_letter_message_id) for p in parked] == [
        ("bad", "BadWorkItem", "not JSON", "dlq-1"),
        ("last", "Throttling", "slow down (receive 3 of 3: not retried again)", "dlq-2"),
    ]
    assert [
        (m["MessageBody"], m["MessageAttributes"]["source_message_id"]["StringValue"]) for m in sqs.sent
    ] == [
        ("{", "bad"),
        ("[1]", "last"),
    ]
    assert [(message_id, str(exc)) for message_id, exc in retried] == [("slow", "Throttling: slow down")]


def run_two(handle: Any, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """run_batch over two records of two keys: (its response, {message id: what `handle` returned})."""
    ran: dict[str, Any] = {}

    def run(item: dict[str, Any]) -> None:
        ran[item["messageId"]] = handle(item)

    response = run_batch(
        [received("a", 1), received("b", 1)],
        run,
        policy=policy(FakeSqs()),
        on_retry=lambda item, exc: None,
        on_dead_lettered=lambda parked: pytest.fail("nothing is parked"),
        **options,
    )
    return dict(response), ran


def test_run_batch_runs_records_one_at_a_time_on_the_calling_thread_by_default() -> None:
    here = threading.current_thread().name
    assert run_two(lambda item: threading.current_thread().name) == (
        {"batchItemFailures": []},
        {"a": here, "b": here},
    )


def test_run_batch_runs_records_at_once_up_to_its_concurrency() -> None:
    response, _ = run_two(meet(2), concurrency=2)
    assert response == {"batchItemFailures": []}


def test_run_batch_runs_records_of_one_group_in_turn_on_the_calling_thread() -> None:
    here = threading.current_thread().name
    records = [record("a", {"idempotency_key": "k"}), record("b", {"idempotency_key": "k"})]
    ran: list[tuple[str, str]] = []
    response = run_batch(
        records,
        lambda item: ran.append((item["messageId"], threading.current_thread().name)),
        policy=policy(FakeSqs()),
        on_retry=lambda item, exc: pytest.fail(f"{item['messageId']} failed: {exc}"),
        on_dead_lettered=lambda parked: pytest.fail("nothing fails"),
        concurrency=2,
        group_key=likely_idempotency_key,
    )
    assert response == {"batchItemFailures": []}
    assert ran == [("a", here), ("b", here)]  # one group: no thread pool at all


def test_a_record_the_dead_letter_queue_refuses_is_retried_with_that_error() -> None:
    refusal = RuntimeError("the DLQ is down")
    retried: list[Exception] = []

    def handle(item: dict[str, Any]) -> None:
        raise PermanentError("BadWorkItem", "not JSON")

    response = run_batch(
        [received("bad", 1)],
        handle,
        policy=policy(FakeSqs(refuse=refusal)),
        on_retry=lambda item, exc: retried.append(exc),
        on_dead_lettered=lambda parked: pytest.fail("nothing was parked"),
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert retried == [refusal]


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"ApproximateReceiveCount": "many"},
        {"ApproximateReceiveCount": None},
        {"ApproximateReceiveCount": ""},
    ],
    ids=["missing", "not-a-number", "null", "empty"],
)
def test_an_unknown_receive_count_counts_as_the_last_receive(attributes: dict[str, Any]) -> None:
    # Retried, such a record would go back until the queue's redrive moved it, with no reason.
    item = {**record("m", "{}"), "attributes": attributes}

    verdict = policy(FakeSqs()).verdict(item, TransientError("Throttling", "slow down"))

    assert verdict is not None
    code, reason = verdict
    assert code == "Throttling"
    assert reason.startswith("slow down (")
    assert "receive count unknown" in reason


def test_no_attributes_at_all_is_an_unknown_receive_count() -> None:
    item = record("m", "{}")
    item.pop("attributes", None)
    assert receive_count(item) is None
    assert receive_count({"attributes": "garbled"}) is None
    assert receive_count(received("m", 2)) == 2
