"""Faults that hit a send's bookkeeping rather than the send: each once sent an email twice or more, or
left a DLQ message with no reason. SES accepts each send here (moto records it); the faults are injected
with botocore hooks around it, and SQS's redelivery is played by invoking the handler again with a higher
ApproximateReceiveCount after moving the clock past the visibility timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError

from email_sender import handler
from email_sender.sender import DEADLINE_MARGIN_MS, SEND_WORST_CASE_MS
from groundskeeper.aws_clients import client, single_attempt_client
from tests.conftest import REGION
from tests.integration.email_sender.conftest import ACCOUNT, SENDER, SenderWorld, welcome
from tests.integration.email_sender.sim_clock import SimClock

VISIBILITY_TIMEOUT_SECONDS = 180  # template.yaml's EmailQueue
MAX_RECEIVES = 5  # template.yaml's maxReceiveCount
SES_URL = f"https://email.{REGION}.amazonaws.com"


class Killed(BaseException):
    """The invocation dies here: no partial batch response, nothing after it runs."""


def emails_sent() -> int:
    """What SES accepted, counted by moto itself, whichever client made the call."""
    return len(moto.backends.get_backend("ses")[ACCOUNT][REGION].sent_messages)


def send_clients() -> list[Any]:
    # Both SES clients: the send goes through the one-attempt client; these tests also pin that nothing
    # is sent through the other.
    return [single_attempt_client("ses"), client("ses")]


@pytest.fixture
def clock(world: SenderWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimClock]:
    sim = SimClock()
    sim.install(monkeypatch, handler.SENDER)
    yield sim


def redeliver(world: SenderWorld, clock: SimClock, record: dict[str, Any], receive: int) -> dict[str, Any]:
    """SQS delivers `record` again, one visibility timeout later, as receive number `receive`."""
    clock.advance(VISIBILITY_TIMEOUT_SECONDS)
    again = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(receive)}}
    return world.invoke(again)


def after_accept(operation: str, fault: BaseException) -> None:
    """SES accepts the call, then `fault` is raised above botocore's retries (an after-call hook)."""

    def raise_it(**_: Any) -> None:
        raise fault

    for ses in send_clients():
        ses.meta.events.register(f"after-call.ses.{operation}", raise_it)


def lose_responses(count: int | None) -> None:
    """SES accepts the request, the response is lost on the wire: `count` times, or every time (None).

    Raised at before-send, after moto has answered (moto's handler is registered on the same event name,
    earlier), so it is inside botocore's retry loop, where a real read timeout happens.
    """
    lost = {"n": 0}

    def lose(request: Any, **_: Any) -> None:
        body = request.body or b""
        action = b"Action=SendEmail&" if isinstance(body, bytes) else "Action=SendEmail&"
        if action in body and (count is None or lost["n"] < count):  # type: ignore[operator]
            lost["n"] += 1
            raise ReadTimeoutError(endpoint_url=SES_URL)

    for ses in send_clients():
        ses.meta.events.register("before-send", lose)


def fail_dynamodb(operation: str, when: Any, code: str = "ProvisionedThroughputExceededException") -> None:
    """Answer DynamoDB `operation` with `code` when when(params) says so (no botocore retries run)."""

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fail"] = when(params)

    def answer(context: dict[str, Any], **_: Any) -> Any:
        if not context.get("fail"):
            return None
        status = 400 if "Throughput" in code else 503
        parsed = {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse(f"https://dynamodb.{REGION}.amazonaws.com/", status, HTTPHeaders(), None), parsed

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{operation}", remember)
    dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", answer)


def completes_the_record(params: dict[str, Any]) -> bool:
    """The record's completion: the UpdateItem that stores the response and marks the record COMPLETED."""
    return ":response_data" in str(params.get("ExpressionAttributeValues", {}))


def dead_letter_codes(world: SenderWorld) -> list[str]:
    return [attrs.get("error_code", "<none>") for _, attrs in world.dead_letters()]


# ------------------------------------------------------------------ no botocore retry of a send


def test_a_lost_response_is_not_sent_again_by_botocore_in_the_same_invocation(
    world: SenderWorld, clock: SimClock
) -> None:
    lose_responses(1)
    record = world.record(welcome())

    world.invoke(record)
    for receive in range(2, MAX_RECEIVES + 1):
        redeliver(world, clock, record, receive)

    assert emails_sent() == 1  # was 2 in one invocation: botocore's adaptive mode retried the send itself
    assert dead_letter_codes(world) == ["SendOutcomeUnknown"] * MAX_RECEIVES


def test_every_response_lost_sends_once_and_dead_letters_with_a_reason(
    world: SenderWorld, clock: SimClock
) -> None:
    lose_responses(None)
    record = world.record(welcome())

    results = [world.invoke(record)]
    results += [redeliver(world, clock, record, receive) for receive in range(2, MAX_RECEIVES + 1)]

    assert emails_sent() == 1  # was 20: 4 attempts x 5 receives, then the DLQ with no reason
    assert all(result == {"batchItemFailures": []} for result in results)
    codes = dead_letter_codes(world)
    assert codes and set(codes) == {"SendOutcomeUnknown"}


def test_the_send_client_makes_one_attempt_and_the_others_keep_adaptive_retries() -> None:
    assert single_attempt_client("ses").meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert client("ses").meta.config.retries["mode"] == "adaptive"
    assert client("ses").meta.config.retries["total_max_attempts"] > 1


def test_a_send_that_could_hit_the_timeout_is_not_started() -> None:
    # The margin a record keeps before its send covers the send's worst case (connect + read timeout).
    assert SEND_WORST_CASE_MS < DEADLINE_MARGIN_MS


# ------------------------------------------------------------------ outcome unknown


def test_a_read_timeout_after_ses_accepted_is_dead_lettered_not_resent(
    world: SenderWorld, clock: SimClock
) -> None:
    after_accept("SendEmail", ReadTimeoutError(endpoint_url=SES_URL))
    record = world.record(welcome())

    assert world.invoke(record) == {"batchItemFailures": []}
    assert redeliver(world, clock, record, 2) == {"batchItemFailures": []}  # a duplicate delivery

    assert emails_sent() == 1  # was 2: the timeout was retried
    [first, *_] = world.dead_letters()
    assert first[1]["error_code"] == "SendOutcomeUnknown"
    assert "ReadTimeoutError" in first[1]["error_message"]
    [item] = world.idempotency_items()
    assert item["status"]["S"] == "COMPLETED"  # the unknown outcome is kept: nothing resends it


# ------------------------------------------------------------------ the record cannot be completed


def test_update_item_throttled_once_after_accept_acknowledges_and_does_not_resend(
    world: SenderWorld, clock: SimClock, caplog: pytest.LogCaptureFixture
) -> None:
    failed = {"n": 0}

    def once(params: dict[str, Any]) -> bool:
        if completes_the_record(params) and failed["n"] == 0:
            failed["n"] = 1
            return True
        return False

    fail_dynamodb("UpdateItem", once)
    record = world.record(welcome())

    with caplog.at_level(logging.WARNING):
        assert world.invoke(record) == {"batchItemFailures": []}  # acknowledged: the email went out
    assert redeliver(world, clock, record, 2)["batchItemFailures"] == []  # a duplicate delivery later

    assert emails_sent() == 1  # was 2
    line = next(r for r in caplog.records if "not completed" in r.getMessage())
    assert getattr(line, "ses_message_id", None)
    # The operator's clue: which AWS error kept the record from completing.
    assert (getattr(line, "error_code", None), getattr(line, "reason", None)) == (
        "IdempotencyUnavailable",
        "could not complete the idempotency record: ProvisionedThroughputExceededException: injected",
    )


def test_update_item_unavailable_for_two_invocations_sends_once(world: SenderWorld, clock: SimClock) -> None:
    invocations = {"n": 0}
    fail_dynamodb(
        "UpdateItem",
        lambda params: completes_the_record(params) and invocations["n"] < 2,
        "ServiceUnavailable",
    )
    record = world.record(welcome())

    for receive in range(1, MAX_RECEIVES + 1):
        result = world.invoke(record) if receive == 1 else redeliver(world, clock, record, receive)
        invocations["n"] += 1
        if result == {"batchItemFailures": []} and receive > 2:
            break

    assert emails_sent() == 1  # was 3


def test_the_metric_counts_records_not_completed(
    world: SenderWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_dynamodb("UpdateItem", completes_the_record, "ServiceUnavailable")
    world.invoke(world.record(welcome("a@example.com")), world.record(welcome("b@example.com")))
    assert '"IdempotencyCompleteFailed":[2.0]' in capsys.readouterr().out.replace(" ", "")


# ------------------------------------------------------------------ killed between accept and record


def test_a_kill_after_accept_is_not_resent_after_the_in_progress_expiry(
    world: SenderWorld, clock: SimClock
) -> None:
    after_accept("SendEmail", Killed())
    record = world.record(welcome())

    with pytest.raises(Killed):
        world.invoke(record)
    # The whole batch comes back after the visibility timeout, long after the killed invocation's deadline.
    assert redeliver(world, clock, record, 2) == {"batchItemFailures": []}

    assert emails_sent() == 1  # was 2
    assert dead_letter_codes(world) == ["SendOutcomeUnknown"]


def test_a_kill_before_the_send_starts_is_retried_and_sent_once(world: SenderWorld, clock: SimClock) -> None:
    killed = {"n": 0}

    def kill_at_the_send_mark(params: dict[str, Any], **_: Any) -> None:
        if ":deadline" in params.get("ExpressionAttributeValues", {}) and not killed["n"]:
            killed["n"] = 1
            raise Killed

    for dynamodb in (client("dynamodb"), single_attempt_client("dynamodb")):  # the mark has its own client
        dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", kill_at_the_send_mark)
    record = world.record(welcome())

    with pytest.raises(Killed):
        world.invoke(record)
    assert redeliver(world, clock, record, 2) == {"batchItemFailures": []}

    assert emails_sent() == 1
    assert world.dead_letters() == []


def test_a_redelivery_while_the_sender_may_still_run_is_retried(world: SenderWorld, clock: SimClock) -> None:
    after_accept("SendEmail", Killed())
    record = world.record(welcome())
    with pytest.raises(Killed):
        world.invoke(record)

    again = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}}
    assert world.failed_ids(world.invoke(again)) == [record["messageId"]]  # its deadline has not passed

    assert emails_sent() == 1
    assert world.dead_letters() == []


# ------------------------------------------------------------------ every DLQ message has a reason


def last_receive(world: SenderWorld, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(MAX_RECEIVES)}}


def test_a_transient_failure_on_the_last_receive_is_dead_lettered_with_its_code(world: SenderWorld) -> None:
    world.fail_ses("SendEmail", lambda params: ("Throttling", "Maximum sending rate exceeded.", 400))
    record = world.record(welcome())

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]  # receive 1: retried
    assert world.invoke(last_receive(world, record)) == {"batchItemFailures": []}  # was: left to the redrive

    [(body, attrs)] = world.dead_letters()
    assert body == record["body"]
    assert attrs["error_code"] == "Throttling"
    assert "receive 5 of 5" in attrs["error_message"]


def test_dynamodb_down_to_the_last_receive_is_dead_lettered_with_a_reason(world: SenderWorld) -> None:
    fail_dynamodb("PutItem", lambda params: True, "ServiceUnavailable")
    record = world.record(welcome())

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.invoke(last_receive(world, record)) == {"batchItemFailures": []}

    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "IdempotencyUnavailable"
    assert "ServiceUnavailable" in attrs["error_message"]
    assert emails_sent() == 0


def test_every_invocation_near_its_deadline_ends_in_the_dlq_with_a_reason(world: SenderWorld) -> None:
    world.lambda_context.remaining_ms = DEADLINE_MARGIN_MS - 1
    record = world.record(welcome())

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.invoke(last_receive(world, record)) == {"batchItemFailures": []}

    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "DeadlineNear"
    assert emails_sent() == 0


def test_paused_on_the_last_receive_without_a_queue_to_put_it_back_is_dead_lettered(
    world: SenderWorld,
) -> None:
    # With EMAIL_QUEUE_URL (the stack sets it) a paused record is put back instead: test_sending_pause.py.
    world.fail_ses("SendEmail", lambda params: ("AccountSendingPausedException", "paused", 400))
    records = [last_receive(world, world.record(welcome(f"u{i}@example.com"))) for i in range(3)]

    assert world.invoke(*records) == {"batchItemFailures": []}

    assert dead_letter_codes(world) == ["AccountSendingPausedException"] * 3


def test_records_after_a_pause_on_the_last_receive_are_dead_lettered_unsent_with_the_reason(
    world: SenderWorld,
) -> None:
    world.configure(send_concurrency=1)  # in batch order: the first record meets the pause
    world.fail_ses("SendEmail", lambda params: ("AccountSendingPausedException", "paused", 400))
    records = [last_receive(world, world.record(welcome(f"u{i}@example.com"))) for i in range(3)]

    assert world.invoke(*records) == {"batchItemFailures": []}

    assert world.calls["ses.SendEmail"] == 1  # the others never called SES
    assert [attrs["error_message"] for _, attrs in world.dead_letters()] == [
        "paused (receive 5 of 5: not retried again)",
        *["sending was paused earlier in this batch; not attempted (receive 5 of 5: not retried again)"] * 2,
    ]


def test_a_record_before_its_last_receive_is_still_retried(world: SenderWorld) -> None:
    world.configure(max_receive_count=3)
    world.fail_ses("SendEmail", lambda params: ("Throttling", "Maximum sending rate exceeded.", 400))
    record = world.record(welcome())
    second = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}}
    third = {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "3"}}

    assert world.failed_ids(world.invoke(second)) == [record["messageId"]]
    assert world.invoke(third) == {"batchItemFailures": []}
    assert dead_letter_codes(world) == ["Throttling"]


# ------------------------------------------------------------------ what IAM enforces, in code


def test_a_from_other_than_the_sender_identity_is_invalid(world: SenderWorld) -> None:
    world.ses.verify_email_identity(EmailAddress="ceo@example.com")  # SES itself would send it
    record = world.record(welcome(**{"from": "ceo@example.com"}))

    assert world.invoke(record) == {"batchItemFailures": []}

    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "InvalidMessage"
    assert "ceo@example.com" in attrs["error_message"]
    assert emails_sent() == 0
    assert world.calls["ses.SendEmail"] == 0


def test_the_sender_identity_itself_and_allowed_senders_may_be_the_from(world: SenderWorld) -> None:
    world.ses.verify_email_identity(EmailAddress="billing@example.com")
    world.configure(allowed_senders=("billing@example.com",))
    own = world.record(welcome("a@example.com", **{"from": SENDER}))
    listed = world.record(welcome("b@example.com", **{"from": "billing@example.com"}))

    assert world.invoke(own, listed) == {"batchItemFailures": []}

    assert sorted(m.source for m in world.sent()) == ["alerts@example.com", "billing@example.com"]


def create_template(world: SenderWorld, name: str) -> None:
    world.ses.create_template(
        Template={"TemplateName": name, "SubjectPart": "Hi {{name}}", "TextPart": "Hello {{name}}"}
    )


def test_the_template_allowlist_limits_what_producers_may_send(world: SenderWorld) -> None:
    for name in ("orders-shipped", "marketing-blast"):
        create_template(world, name)
    world.configure(allowed_templates=("orders-*",))
    allowed = world.record({"template": "orders-shipped", "to": ["a@example.com"], "data": {"name": "A"}})
    refused = world.record({"template": "marketing-blast", "to": ["b@example.com"], "data": {"name": "B"}})
    bundled = world.record(welcome("c@example.com"))

    assert world.invoke(allowed, refused, bundled) == {"batchItemFailures": []}

    assert sorted(m.destinations["ToAddresses"][0] for m in world.sent()) == [
        "a@example.com",
        "c@example.com",
    ]
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "InvalidMessage"
    assert "marketing-blast" in attrs["error_message"]


def test_without_an_allowlist_any_template_may_be_sent(world: SenderWorld) -> None:
    create_template(world, "marketing-blast")
    record = world.record({"template": "marketing-blast", "to": ["b@example.com"], "data": {"name": "B"}})
    assert world.invoke(record) == {"batchItemFailures": []}
    assert emails_sent() == 1
