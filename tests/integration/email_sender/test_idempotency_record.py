"""The sender's idempotency record against the installed Powertools: the same format, read both ways.

The sender used Powertools' idempotency utility before it owned its record (docs/decisions/010). A deploy
that replaces one by the other finds records in flight: these tests write with one and read with the
other, under moto. If a Powertools upgrade changes its keys, hashes, attribute names or status values,
they fail, and the decision page says what a deploy in flight then does.

The last tests are about the record's own reads and failures: what DynamoDB's errors become.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from email_sender import idempotency_record as record
from email_sender.idempotency_record import (
    Found,
    IdempotencyRecords,
    KeyReused,
    RecordUnavailable,
    payload_hash,
)
from groundskeeper.aws_clients import client
from tests.lambda_context import FakeLambdaContext

TABLE = "idempotency"
TTL = 3600
FUNCTION = "groundskeeper-EmailSenderFunction-abc"
REQUEST = {"template": "example-welcome", "to": ["a@example.com"], "cc": [], "bcc": [], "data": {"n": "é"}}
SENT = {"outcome": "sent", "ses_message_id": "0100-ses"}
PREFIX = f"{FUNCTION}.email_sender.sender.EmailSender._deliver"


@pytest.fixture
def records(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdempotencyRecords]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield IdempotencyRecords(client("dynamodb"), TABLE, TTL)


class PowertoolsSender:
    """The sender's former idempotency, as it was configured: key `key`, payload `request`, a 1 h expiry."""

    def __init__(self) -> None:
        self.calls = 0

        def deliver(*, job: dict[str, Any]) -> dict[str, str]:
            self.calls += 1
            return SENT

        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=TTL,
        )
        self.persistence = DynamoDBPersistenceLayer(table_name=TABLE, boto3_client=client("dynamodb"))
        self.deliver = idempotent_function(
            data_keyword_argument="job",
            persistence_store=self.persistence,
            config=self.config,
            # What Powertools made of the function it wrapped, EmailSender._deliver of email_sender.sender,
            # in a Lambda function named FUNCTION.
            key_prefix=PREFIX,
        )(deliver)


@pytest.fixture
def powertools(records: IdempotencyRecords) -> PowertoolsSender:
    sender = PowertoolsSender()
    sender.config.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]
    return sender


def items() -> list[dict[str, Any]]:
    return client("dynamodb").scan(TableName=TABLE)["Items"]


def test_a_record_powertools_completed_answers_our_claim(
    records: IdempotencyRecords, powertools: PowertoolsSender
) -> None:
    assert powertools.deliver(job={"key": "order-1", "request": REQUEST}) == SENT

    found = records.claim(records.key("order-1"), payload_hash(REQUEST), now=time.time(), remaining_ms=30_000)

    assert found == Found(result=SENT, send_deadline_ms=None)
    [item] = items()
    assert item[record.KEY]["S"] == records.key("order-1")
    assert item[record.STATUS]["S"] == record.COMPLETED


def test_our_completed_record_answers_powertools_without_running_it_again(
    records: IdempotencyRecords, powertools: PowertoolsSender
) -> None:
    key, payload = records.key("order-2"), payload_hash(REQUEST)
    assert records.claim(key, payload, now=time.time(), remaining_ms=30_000) is None
    records.complete(key, payload, SENT, now=time.time())

    assert powertools.deliver(job={"key": "order-2", "request": REQUEST}) == SENT
    assert powertools.calls == 0


def test_both_write_the_same_attributes_and_status_values(
    records: IdempotencyRecords, powertools: PowertoolsSender
) -> None:
    powertools.deliver(job={"key": "theirs", "request": REQUEST})
    key = records.key("ours")
    records.claim(key, payload_hash(REQUEST), now=time.time(), remaining_ms=30_000)
    records.complete(key, payload_hash(REQUEST), SENT, now=time.time())

    theirs, ours = sorted(items(), key=lambda item: item[record.KEY]["S"] == key)
    assert set(ours) == set(theirs)
    clocks = {record.KEY, record.EXPIRY, record.IN_PROGRESS_EXPIRY}  # written a few ms apart
    assert {name: value for name, value in ours.items() if name not in clocks} == {
        name: value for name, value in theirs.items() if name not in clocks
    }


def test_an_in_progress_lock_of_either_holds_against_the_other(
    records: IdempotencyRecords, powertools: PowertoolsSender
) -> None:
    key = records.key("order-3")
    assert records.claim(key, payload_hash(REQUEST), now=time.time(), remaining_ms=30_000) is None
    with pytest.raises(IdempotencyAlreadyInProgressError):
        powertools.deliver(job={"key": "order-3", "request": REQUEST})

    # Powertools' lock, as its claim leaves it while the delivery runs (or after a kill).
    powertools.persistence.configure(
        powertools.config, function_name="email_sender.sender.EmailSender._deliver"
    )
    powertools.persistence.save_inprogress(
        data={"key": "order-4", "request": REQUEST}, remaining_time_in_millis=30_000
    )

    found = records.claim(records.key("order-4"), payload_hash(REQUEST), now=time.time(), remaining_ms=30_000)
    assert found == Found(result=None, send_deadline_ms=None)


def test_a_reused_key_is_refused_by_both(records: IdempotencyRecords, powertools: PowertoolsSender) -> None:
    other = {**REQUEST, "to": ["b@example.com"]}
    powertools.deliver(job={"key": "order-5", "request": REQUEST})
    with pytest.raises(KeyReused):
        records.claim(records.key("order-5"), payload_hash(other), now=time.time(), remaining_ms=30_000)

    key = records.key("order-6")
    records.claim(key, payload_hash(REQUEST), now=time.time(), remaining_ms=30_000)
    records.complete(key, payload_hash(REQUEST), SENT, now=time.time())
    with pytest.raises(IdempotencyValidationError):
        powertools.deliver(job={"key": "order-6", "request": other})


def test_a_record_past_its_expiry_is_claimed_again(records: IdempotencyRecords) -> None:
    key, payload = records.key("order-7"), payload_hash(REQUEST)
    records.claim(key, payload, now=time.time(), remaining_ms=30_000)
    records.complete(key, payload, SENT, now=time.time())

    assert records.claim(key, payload, now=time.time() + TTL + 1, remaining_ms=30_000) is None


def test_a_lock_past_its_invocations_deadline_is_claimed_again_unless_the_send_started(
    records: IdempotencyRecords,
) -> None:
    key, payload, now = records.key("order-8"), payload_hash(REQUEST), time.time()
    records.claim(key, payload, now=now, remaining_ms=30_000)
    assert records.claim(key, payload, now=now + 31, remaining_ms=30_000) is None  # the first one died

    records.mark_send_started(key, now=now + 31, deadline_ms=int((now + 61) * 1000), attempt="a1")
    found = records.claim(key, payload, now=now + 120, remaining_ms=30_000)
    assert found == Found(result=None, send_deadline_ms=int((now + 61) * 1000))
    # Only a delivery that knows this very attempt was refused may take the marked record over.
    assert records.claim(key, payload, now=now + 120, remaining_ms=30_000, refused_attempt="a0") == found
    assert records.claim(key, payload, now=now + 120, remaining_ms=30_000, refused_attempt="a1") is None


# ------------------------------------------------------------------ DynamoDB's answers and errors


def refuse_put_item(code: str, message: str = "injected") -> None:
    """Every PutItem fails with `code` (and no old item), before it reaches moto."""

    def answer(**_: Any) -> Any:
        status = 400 if code != "ServiceUnavailable" else 503
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", status, HTTPHeaders(), None), parsed

    client("dynamodb").meta.events.register("before-call.dynamodb.PutItem", answer)


def test_a_failed_claim_without_the_old_item_reads_the_record_strongly_consistent(
    records: IdempotencyRecords,
) -> None:
    """A lock written a moment ago by another invocation must be seen: an eventually consistent read could
    miss it, and the claim would then take the key over while that invocation sends."""
    key, payload, now = records.key("order-9"), payload_hash(REQUEST), time.time()
    assert records.claim(key, payload, now=now, remaining_ms=30_000) is None
    reads: list[dict[str, Any]] = []
    client("dynamodb").meta.events.register(
        "before-parameter-build.dynamodb.GetItem", lambda params, **_: reads.append(dict(params))
    )
    refuse_put_item(record.CONDITIONAL_CHECK_FAILED)  # as DynamoDB answers when it returns no ALL_OLD item

    assert records.claim(key, payload, now=now, remaining_ms=30_000) == Found(
        result=None, send_deadline_ms=None
    )
    assert [(r["Key"], r.get("ConsistentRead")) for r in reads] == [({record.KEY: {"S": key}}, True)]


def test_an_unavailable_record_names_the_aws_error_in_its_reason(records: IdempotencyRecords) -> None:
    # A code the DynamoDB model does not know: botocore raises a plain ClientError, named by no class.
    refuse_put_item("ServiceUnavailable", "The service is unavailable.")

    with pytest.raises(RecordUnavailable) as raised:
        records.claim(records.key("order-10"), payload_hash(REQUEST), now=time.time(), remaining_ms=30_000)

    assert (raised.value.code, raised.value.message) == (
        "IdempotencyUnavailable",
        "could not claim the idempotency record: ServiceUnavailable: The service is unavailable.",
    )
