"""`SendOutcomeUnknown` only when a send may have happened: a send that never started, or that SES refused,
is delivered once later, whatever fails around its send-started mark.

SQS is played by the test: a record in batchItemFailures comes back one visibility timeout later with a
higher receive count, and a copy the sender put back on the email queue is received from moto's queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from email_sender import handler, sender
from email_sender.errors import Outcome
from email_sender.sender import (
    DEADLINE_MARGIN_MS,
    MARK_WORST_CASE_MS,
    MAX_INVOCATION_MS,
    SEND_WORST_CASE_MS,
    Invocation,
)
from groundskeeper.aws_clients import client, single_attempt_client
from tests.conftest import REGION
from tests.integration.email_sender.conftest import SenderWorld, welcome
from tests.integration.email_sender.sim_clock import SimClock
from tests.integration.email_sender.test_send_faults import (
    VISIBILITY_TIMEOUT_SECONDS,
    Killed,
    emails_sent,
    fail_dynamodb,
)


@pytest.fixture
def clock(world: SenderWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimClock]:
    sim = SimClock()
    sim.install(monkeypatch, handler.SENDER)
    yield sim


@pytest.fixture
def email_queue(world: SenderWorld, clock: SimClock, monkeypatch: pytest.MonkeyPatch) -> str:
    url: str = client("sqs").create_queue(QueueName="email-queue")["QueueUrl"]
    world.configure(email_queue_url=url)
    clock.install(monkeypatch, handler.SENDER)  # the new container reads the same clock
    # moto holds a delayed message for real seconds; the simulated clock has passed them by the next round.
    monkeypatch.setattr(sender, "REQUEUE_DELAY_SECONDS", 0)
    return url


def lambda_record(message: dict[str, Any], receives: int = 1) -> dict[str, Any]:
    """An SQS message as Lambda's event source hands it over, its message attributes included."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": str(receives), "SentTimestamp": "1523232000000"},
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": "-",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:email-queue",
        "awsRegion": REGION,
    }


def play_queue(
    world: SenderWorld, clock: SimClock, queue_url: str, first: dict[str, Any], after_first: Any = None
) -> int:
    """Deliver `first`, then whatever comes back (the record itself, or copies the sender put on the
    queue), until nothing is left; returns how many invocations that took. `after_first` runs once the
    first invocation is over (the fault heals)."""
    pending = [first]
    invocations = 0
    while pending and invocations < 20:
        record = pending.pop(0)
        invocations += 1
        try:
            failed = world.failed_ids(world.invoke(record))
        except Killed:
            failed = [record["messageId"]]
        if invocations == 1 and after_first:
            after_first()
        clock.advance(VISIBILITY_TIMEOUT_SECONDS + 1)
        if failed:
            receives = int(record["attributes"]["ApproximateReceiveCount"]) + 1
            pending.append(
                {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(receives)}}
            )
        copies = client("sqs").receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        )
        for message in copies.get("Messages", []):
            client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            pending.append(lambda_record(message))
    return invocations


def is_the_mark(params: dict[str, Any]) -> bool:
    return ":deadline" in params.get("ExpressionAttributeValues", {})


def test_a_refused_send_whose_mark_cannot_be_cleared_is_delivered_once_later(
    world: SenderWorld, clock: SimClock, email_queue: str
) -> None:
    # The mark is written, SES refuses the send (nothing sent), and DynamoDB fails to clear the mark.
    refused = {"n": 0}

    def throttle_once(params: dict[str, Any]) -> tuple[str, str, int] | None:
        refused["n"] += 1
        return ("Throttling", "Maximum sending rate exceeded.", 400) if refused["n"] == 1 else None

    world.fail_ses("SendEmail", throttle_once)
    down = {"on": True}
    fail_dynamodb("DeleteItem", lambda params: down["on"], "ServiceUnavailable")
    record = world.record(welcome())

    play_queue(world, clock, email_queue, record, after_first=lambda: down.update(on=False))

    assert refused["n"] == 2
    assert emails_sent() == 1  # was 0: the redelivery found the mark and parked it as SendOutcomeUnknown
    assert world.dead_letters() == []


def handled_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[Any, ...]]:
    return [
        (r.message_id, r.outcome, getattr(r, "error_code", None), getattr(r, "requeued", None))  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "email request handled"
    ]


def test_a_refused_send_put_back_on_the_queue_is_a_retry_and_logged_as_requeued(
    world: SenderWorld, email_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    world.fail_ses("SendEmail", lambda params: ("Throttling", "Maximum sending rate exceeded.", 400))
    fail_dynamodb("DeleteItem", lambda params: True, "ServiceUnavailable")  # the mark stays
    record = world.record(welcome())

    with caplog.at_level(logging.INFO):
        outcome = handler.SENDER.handle(record, Invocation(world.lambda_context))

    assert outcome is Outcome.RETRY
    assert handled_lines(caplog) == [(record["messageId"], Outcome.RETRY, "Throttling", True)]


def test_a_paused_send_put_back_on_the_queue_is_logged_as_paused_and_requeued(
    world: SenderWorld, email_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    world.fail_ses("SendEmail", lambda params: ("AccountSendingPausedException", "paused", 400))
    record = world.record(welcome())

    with caplog.at_level(logging.INFO):
        assert world.invoke(record) == {"batchItemFailures": []}

    assert handled_lines(caplog) == [
        (record["messageId"], Outcome.PAUSED, "AccountSendingPausedException", True)
    ]
    [copy] = client("sqs").receive_message(QueueUrl=email_queue).get("Messages", [])
    assert copy["Body"] == record["body"]


def test_a_paused_send_whose_mark_cannot_be_cleared_pauses_the_rest_of_the_batch(
    world: SenderWorld, email_queue: str
) -> None:
    world.configure(send_concurrency=1)  # in batch order: the first record meets the pause
    world.fail_ses("SendEmail", lambda params: ("AccountSendingPausedException", "paused", 400))
    fail_dynamodb("DeleteItem", lambda params: True, "ServiceUnavailable")  # the mark stays
    records = [world.record(welcome(f"u{i}@example.com")) for i in range(2)]

    assert world.invoke(*records) == {"batchItemFailures": []}  # both put back on the queue

    assert world.calls["ses.SendEmail"] == 1  # the second record never called SES


def test_a_refused_sends_mark_is_cleared_on_the_second_try(world: SenderWorld) -> None:
    world.fail_ses("SendEmail", lambda params: ("Throttling", "Maximum sending rate exceeded.", 400))
    deletes = {"n": 0}

    def first_delete_fails(params: dict[str, Any]) -> bool:
        deletes["n"] += 1
        return deletes["n"] == 1

    fail_dynamodb("DeleteItem", first_delete_fails, "ServiceUnavailable")
    record = world.record(welcome())

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]  # retried by SQS, unsent

    assert deletes["n"] == 2
    assert world.idempotency_items() == []  # the retry finds the key free, no mark to explain


def test_without_a_lambda_context_the_mark_holds_for_the_longest_invocation(world: SenderWorld) -> None:
    before = int(time.time() * 1000)
    response = handler.SENDER.deliver_batch({"Records": [world.record(welcome())]}, None)
    after = int(time.time() * 1000)

    assert (response, emails_sent()) == ({"batchItemFailures": []}, 1)
    [item] = world.idempotency_items()
    assert before + MAX_INVOCATION_MS <= int(item["send_deadline"]["N"]) <= after + MAX_INVOCATION_MS
    assert MAX_INVOCATION_MS == 15 * 60 * 1000  # Lambda's longest timeout


def test_a_mark_whose_answer_was_lost_then_a_refused_send_is_delivered_once_later(
    world: SenderWorld, clock: SimClock, email_queue: str
) -> None:
    # The mark's UpdateItem landed but its answer was lost: the send is never made (the sender cannot know
    # the mark holds), and the mark cannot be cleared either.
    lost = {"n": 0}

    def lose_the_marks_answer(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["lose"] = is_the_mark(params) and lost["n"] == 0

    def raise_after_it_landed(context: dict[str, Any], **_: Any) -> None:
        if context.get("lose"):
            lost["n"] += 1
            raise ReadTimeoutError(endpoint_url=f"https://dynamodb.{REGION}.amazonaws.com")

    for dynamodb in (client("dynamodb"), single_attempt_client("dynamodb")):
        dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", lose_the_marks_answer)
        dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", raise_after_it_landed)
    down = {"on": True}
    fail_dynamodb("DeleteItem", lambda params: down["on"], "ServiceUnavailable")
    record = world.record(welcome())

    play_queue(world, clock, email_queue, record, after_first=lambda: down.update(on=False))

    assert lost["n"] == 1
    assert emails_sent() == 1
    assert world.dead_letters() == []


def hang_the_mark(world: SenderWorld) -> dict[str, int]:
    """DynamoDB hangs on the mark: the call takes its client's worst case (every attempt times out, the
    last one lands). If that runs past the invocation's deadline, Lambda kills the invocation there."""
    seen = {"kills": 0, "marks": 0}

    def worst_case_ms(dynamodb: Any) -> int:
        config = dynamodb.meta.config
        attempts = config.retries.get("total_max_attempts", 1)
        return int(attempts * (config.connect_timeout + config.read_timeout) * 1000)

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["is_the_mark"] = is_the_mark(params)

    def make_hook(dynamodb: Any) -> Any:
        def hang(context: dict[str, Any], **_: Any) -> None:
            if not context.get("is_the_mark"):
                return
            seen["marks"] += 1
            took = worst_case_ms(dynamodb)
            if took >= world.lambda_context.remaining_ms:
                seen["kills"] += 1
                raise Killed  # the mark was written; the send never started
            world.lambda_context.remaining_ms -= took

        return hang

    for dynamodb in (client("dynamodb"), single_attempt_client("dynamodb")):
        dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", remember)
        dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", make_hook(dynamodb))
    return seen


def test_a_mark_cannot_outlive_the_invocation(world: SenderWorld, clock: SimClock) -> None:
    # 20 s left: enough for the record's margin, not for a mark through the shared client (4 attempts of
    # 3 s connect + 10 s read), which the Lambda timeout then killed after the write landed.
    world.lambda_context.remaining_ms = 20_000
    seen = hang_the_mark(world)
    record = world.record(welcome())

    try:
        world.invoke(record)
    except Killed:
        clock.advance(VISIBILITY_TIMEOUT_SECONDS + 1)
        world.lambda_context.remaining_ms = 30_000
        world.invoke({**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}})

    assert seen["kills"] == 0  # was 1, then SendOutcomeUnknown and no email
    assert emails_sent() == 1
    assert world.dead_letters() == []


def test_the_mark_starts_only_with_time_for_its_worst_case_and_the_sends() -> None:
    mark_client = single_attempt_client("dynamodb").meta.config
    assert mark_client.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (mark_client.connect_timeout + mark_client.read_timeout) * 1000 == MARK_WORST_CASE_MS
    assert MARK_WORST_CASE_MS + SEND_WORST_CASE_MS < DEADLINE_MARGIN_MS


def test_too_little_time_for_the_mark_and_the_send_marks_nothing(world: SenderWorld) -> None:
    world.lambda_context.remaining_ms = DEADLINE_MARGIN_MS - 1
    record = world.record(welcome())

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]

    assert emails_sent() == 0
    assert world.idempotency_items() == []


def time_left_after_the_mark(world: SenderWorld, remaining_ms: int) -> None:
    """The mark's write leaves the invocation `remaining_ms` (it took the rest of its time)."""

    def took_time(params: dict[str, Any], **_: Any) -> None:
        if is_the_mark(params):
            world.lambda_context.remaining_ms = remaining_ms

    for dynamodb in (client("dynamodb"), single_attempt_client("dynamodb")):
        dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", took_time)


def time_left_after_the_claim(world: SenderWorld, remaining_ms: int) -> None:
    """The claim's write leaves the invocation `remaining_ms` (the record had its margin when it began)."""

    def took_time(**_: Any) -> None:
        world.lambda_context.remaining_ms = remaining_ms

    client("dynamodb").meta.events.register("before-parameter-build.dynamodb.PutItem", took_time)


def test_a_mark_starts_with_exactly_the_worst_case_of_the_mark_and_the_send_left(world: SenderWorld) -> None:
    time_left_after_the_claim(world, MARK_WORST_CASE_MS + SEND_WORST_CASE_MS)

    assert world.invoke(world.record(welcome())) == {"batchItemFailures": []}
    assert emails_sent() == 1


def test_with_less_than_the_worst_case_of_the_mark_and_the_send_left_nothing_is_marked(
    world: SenderWorld,
) -> None:
    time_left_after_the_claim(world, MARK_WORST_CASE_MS + SEND_WORST_CASE_MS - 1)
    marks: list[dict[str, Any]] = []
    for dynamodb in (client("dynamodb"), single_attempt_client("dynamodb")):
        dynamodb.meta.events.register(
            "before-parameter-build.dynamodb.UpdateItem", lambda params, **_: marks.append(params)
        )
    record, receives = world.record(welcome()), world.settings.max_receive_count
    last = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(receives)}}

    assert world.invoke(last) == {"batchItemFailures": []}  # the last receive: parked with its reason

    assert (emails_sent(), marks) == (0, [])
    [(_, attrs)] = world.dead_letters()
    assert (attrs["error_code"], attrs["error_message"]) == (
        "DeadlineNear",
        "too little time left for the send mark and the send; not attempted"
        f" (receive {receives} of {receives}: not retried again)",
    )
    assert world.idempotency_items() == []  # the claim's lock was released


def test_a_send_starts_with_exactly_its_worst_case_left(world: SenderWorld) -> None:
    time_left_after_the_mark(world, SEND_WORST_CASE_MS)

    assert world.invoke(world.record(welcome())) == {"batchItemFailures": []}
    assert emails_sent() == 1


def test_a_send_with_less_than_its_worst_case_left_is_not_started(world: SenderWorld) -> None:
    time_left_after_the_mark(world, SEND_WORST_CASE_MS - 1)
    record, receives = world.record(welcome()), world.settings.max_receive_count
    last = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(receives)}}

    assert world.invoke(last) == {"batchItemFailures": []}  # the last receive: parked with its reason

    assert emails_sent() == 0
    [(_, attrs)] = world.dead_letters()
    assert (attrs["error_code"], attrs["error_message"]) == (
        "DeadlineNear",
        "too little time left for the send; not attempted"
        f" (receive {receives} of {receives}: not retried again)",
    )
    assert world.idempotency_items() == []  # nothing was sent: the marked lock was released


@pytest.mark.parametrize("count", [None, "x", "0"], ids=["missing", "not-a-number", "zero"])
def test_a_record_with_no_usable_receive_count_is_dead_lettered_with_its_reason(
    world: SenderWorld, count: str | None
) -> None:
    world.fail_ses("SendEmail", lambda params: ("Throttling", "Maximum sending rate exceeded.", 400))
    record = world.record(welcome())
    attributes = {k: v for k, v in record["attributes"].items() if k != "ApproximateReceiveCount"}
    if count is not None:
        attributes["ApproximateReceiveCount"] = count

    assert world.invoke({**record, "attributes": attributes}) == {"batchItemFailures": []}  # was: retried

    [(body, attrs)] = world.dead_letters()
    assert body == record["body"]
    assert attrs["error_code"] == "Throttling"
    assert "receive count unknown" in attrs["error_message"]
