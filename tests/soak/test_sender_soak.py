"""The email sender's soak: many requests through the handler under moto, with SQS played in the test.

The queue is simulated the way SQS behaves: batches of up to 10 visible messages, each delivery counting in
`ApproximateReceiveCount`; a record in `batchItemFailures` (or every record of an invocation that died)
becomes visible again one visibility timeout later; a message received `maxReceiveCount` times and still
not deleted is moved to the DLQ by the redrive policy, with no reason. A simulated clock moves forward
instead of waiting, for the queue and for the idempotency expiry checks (the sender's idempotency record).

The faults, drawn from a seeded random generator:
- 10 % of the SendEmail calls are throttled (SES refuses them);
- 5 % of the requests are invalid (bad JSON, a typo'd field, a bad address, a missing variable, an
  unknown template, a From other than the sender's), each with the error_code it must reach the DLQ with;
- 5 % of the messages are delivered twice (SQS's at-least-once);
- 5 % of the UpdateItem calls that complete an idempotency record fail after SES accepted the send;
- 5 % of the accepted sends kill the invocation right after SES answered (a BaseException from an
  after-call hook: no batch response, so the whole batch comes back);
- 5 % of the accepted sends lose their response: half as a read timeout inside botocore's retry loop
  (before-send, after moto answered), half above it (after-call);
- 25 % of the DeleteItem calls that clear a record after a refused send fail (after the send-started
  mark, nothing sent: the record must still be delivered once);
- 5 % of the send-started marks hang for their client's worst case (every attempt times out, the last one
  lands): if that runs past the invocation's deadline (30 s after it started), Lambda kills it there.

Besides the table, the notes count the valid requests parked as SendOutcomeUnknown, and of those the ones
SES never accepted: a send that never happened must not be parked (0 since the mark's fixes).

Per request: lost = never sent and not in the DLQ with a reason; duplicated = SES accepted it more than
once; wrong = an invalid request sent or dead-lettered with the wrong code, or a valid one dead-lettered
with a code no fault explains; crashed = an invocation that raised anything but the simulated kill. Every
DLQ message must carry an error_code, and none may come from the redrive policy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError

from email_sender import sender as sender_module
from email_sender.settings import Settings
from groundskeeper.aws_clients import client, reset_clients, single_attempt_client
from groundskeeper.observability import logger
from tests.integration.email_sender.sim_clock import SimClock
from tests.lambda_context import REGION, FakeLambdaContext
from tests.soak.report import Tally, publish, seed, size

ACCOUNT = "123456789012"
SENDER = "alerts@example.com"
BATCH = 10
MAX_RECEIVES = 5  # template.yaml's EmailMaxReceiveCount
VISIBILITY_TIMEOUT = 180.0  # template.yaml's EmailQueue
SECONDS_PER_INVOCATION = 1.0
SES_URL = f"https://email.{REGION}.amazonaws.com"
# What a valid request may end in the DLQ with: an outcome nobody can know (a lost response, a kill), or a
# transient failure on every one of its receives (the redrive would otherwise have taken it reasonless).
EXPLAINED_CODES = frozenset({"SendOutcomeUnknown", "Throttling", "IdempotencyUnavailable", "SendInProgress"})

P_THROTTLE = 0.10
P_INVALID = 0.05
P_DUPLICATE = 0.05
P_UPDATE_FAILS = 0.05
P_KILL = 0.05
P_LOST_RESPONSE = 0.05
P_RELEASE_FAILS = 0.25
P_MARK_HANGS = 0.05
INVOCATION_SECONDS = 30.0  # template.yaml's Globals Timeout
REQUEUE_DELAY = 300.0  # the sender's REQUEUE_DELAY_SECONDS: how long a copy it puts back waits


class Killed(BaseException):
    """The Lambda runtime ends the invocation: nothing after this point runs, no response is returned."""


@dataclass
class Message:
    """One SQS message as the queue holds it (a duplicate delivery is a second copy, same id and body)."""

    message_id: str
    body: str
    receives: int = 0
    visible_at: float = 0.0
    # Set on a copy the sender put back on the queue (its idempotency source, a refused attempt).
    message_attributes: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "receiptHandle": str(uuid.uuid4()),
            "body": self.body,
            "attributes": {"ApproximateReceiveCount": str(self.receives), "SentTimestamp": "1523232000000"},
            "messageAttributes": {
                name: {"stringValue": value, "dataType": "String"}
                for name, value in self.message_attributes.items()
            },
            "md5OfBody": "-",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:EmailQueue",
            "awsRegion": REGION,
        }


@dataclass
class Faults:
    """What was injected, counted under a lock (the handler sends from up to 10 threads)."""

    rng: random.Random
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)

    def draw(self, name: str, probability: float) -> bool:
        with self.lock:
            hit = self.rng.random() < probability
            if hit:
                self.counts[name] += 1
            return hit


def invalid_body(rng: random.Random, index: int) -> tuple[str, str]:
    """(body, the error_code it must reach the DLQ with) for one of the ways a request goes wrong."""
    to = f"bad{index}@example.com"
    kind = rng.choice(["json", "field", "address", "variable", "template", "from"])
    if kind == "json":
        return '{"template": "example-welcome", "to": [', "InvalidMessage"
    if kind == "field":
        return json.dumps({**welcome(to), "bcc_typo": ["x@example.com"]}), "InvalidMessage"
    if kind == "address":
        return json.dumps(welcome(f"bad{index}@@example.com")), "InvalidMessage"
    if kind == "variable":
        body = {"template": "example-welcome", "to": [to], "data": {"name": "x"}}
        return json.dumps(body), "MissingRenderingAttribute"
    if kind == "template":
        return json.dumps({"template": "not-bundled", "to": [to], "data": {}}), "TemplateDoesNotExist"
    return json.dumps({**welcome(to), "from": "ceo@example.com"}), "InvalidMessage"


def welcome(to: str) -> dict[str, Any]:
    return {"template": "example-welcome", "to": [to], "data": {"name": "Ada", "product": "Groundskeeper"}}


def short_circuit(url: str, status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(url, status, HTTPHeaders(), None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


class SoakContext(FakeLambdaContext):
    """A Lambda context whose remaining time runs on the simulated clock, from each invocation's start."""

    def __init__(self, clock: SimClock) -> None:
        super().__init__()
        self.clock = clock
        self.deadline = clock.time() + INVOCATION_SECONDS

    def start(self) -> None:
        self.deadline = self.clock.time() + INVOCATION_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.time()) * 1000)


def worst_case_seconds(some_client: Any) -> float:
    """How long a call of this client can take when every attempt times out (backoff left out)."""
    config = some_client.meta.config
    attempts = config.retries.get("total_max_attempts", 1)
    return float(attempts * (config.connect_timeout + config.read_timeout))


def install_faults(faults: Faults, sent: Counter[str], context: SoakContext) -> None:
    """The botocore hooks: SES refusals, accepted sends whose answer is lost or whose invocation dies,
    idempotency records that cannot be completed or cleared, and marks that hang. `sent` counts what SES
    accepted, per recipient."""
    send = single_attempt_client("ses")
    dynamodb = client("dynamodb")

    def throttle(**_: Any) -> Any:
        if faults.draw("throttled sends", P_THROTTLE):
            error = {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}
            return short_circuit(SES_URL, 400, error)
        return None

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["to"] = params["Destination"]["ToAddresses"][0]

    def lose_inside_retries(request: Any, **_: Any) -> None:
        # Runs after moto's own before-send handler has accepted the send.
        body = request.body or ""
        text = body.decode() if isinstance(body, bytes) else body
        if "Action=SendEmail&" in text:
            sent[parse_qs(text)["Destination.ToAddresses.member.1"][0]] += 1
            if faults.draw("responses lost (inside botocore)", P_LOST_RESPONSE / 2):
                raise ReadTimeoutError(endpoint_url=SES_URL)

    def after_accept(parsed: dict[str, Any], **_: Any) -> None:
        if "MessageId" not in parsed:
            return
        if faults.draw("kills after accept", P_KILL):
            raise Killed
        if faults.draw("responses lost (above botocore)", P_LOST_RESPONSE / 2):
            raise ReadTimeoutError(endpoint_url=SES_URL)

    def fail_completion(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        completes = ":response_data" in params.get("ExpressionAttributeValues", {})
        context["fail"] = completes and faults.draw("record completions failed", P_UPDATE_FAILS)

    def answer_completion(context: dict[str, Any], **_: Any) -> Any:
        if context.get("fail"):
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}
            return short_circuit(f"https://dynamodb.{REGION}.amazonaws.com/", 400, error)
        return None

    send.meta.events.register("before-parameter-build.ses.SendEmail", remember)
    send.meta.events.register("before-call.ses.SendEmail", throttle)
    send.meta.events.register("before-send", lose_inside_retries)
    send.meta.events.register("after-call.ses.SendEmail", after_accept)
    dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", fail_completion)
    dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", answer_completion)

    def fail_release(**_: Any) -> Any:
        if faults.draw("record clearings failed after a refused send", P_RELEASE_FAILS):
            error = {"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}
            return short_circuit(f"https://dynamodb.{REGION}.amazonaws.com/", 503, error)
        return None

    dynamodb.meta.events.register("before-call.dynamodb.DeleteItem", fail_release)

    def remember_mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["is_mark"] = ":deadline" in params.get("ExpressionAttributeValues", {})

    def hang_on(marks: Any) -> Any:
        def hang(context: dict[str, Any], **_: Any) -> None:
            if not context.get("is_mark") or not faults.draw("marks hung", P_MARK_HANGS):
                return
            took = worst_case_seconds(marks)
            if took * 1000 >= lambda_context.get_remaining_time_in_millis():
                faults.draw("invocations killed during the mark", 1.0)
                raise Killed  # the mark landed; no send follows
            lambda_context.clock.advance(took)

        return hang

    lambda_context = context
    # The mark goes through whichever client the sender gives it: hang both the same way.
    for marks in (dynamodb, single_attempt_client("dynamodb")):
        marks.meta.events.register("before-parameter-build.dynamodb.UpdateItem", remember_mark)
        marks.meta.events.register("after-call.dynamodb.UpdateItem", hang_on(marks))

    def send_quota(**_: Any) -> Any:
        quota = {"MaxSendRate": 100_000.0, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}
        return short_circuit(SES_URL, 200, quota)

    client("ses").meta.events.register("before-call.ses.GetSendQuota", send_quota)


@dataclass
class Outcome:
    """What the run left behind, per request."""

    sent: Counter[str] = field(default_factory=Counter)  # recipient -> accepted sends
    dead: dict[str, list[str]] = field(default_factory=dict)  # message id -> error codes in the DLQ
    redriven: Counter[str] = field(default_factory=Counter)  # message id -> moved by the redrive policy
    crashes: list[str] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)  # a copy's message id -> its request's
    invocations: int = 0
    kills: int = 0


def load_handler() -> Any:
    """The sender's handler module; it reads its settings at import, which these let it do (they are
    replaced below, as a new container would read its own)."""
    os.environ.setdefault("IDEMPOTENCY_TABLE", "email-sender-import-only")
    os.environ.setdefault("SES_CONFIGURATION_SET", "import-only")
    os.environ.setdefault(
        "DEAD_LETTER_QUEUE_URL", f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/import-only"
    )
    from email_sender import handler

    return handler


def build_world(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, SimClock]:
    handler = load_handler()
    client("ses").verify_email_identity(EmailAddress=SENDER)
    client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq_url = client("sqs").create_queue(QueueName="email-dlq")["QueueUrl"]
    queue_url = client("sqs").create_queue(QueueName="email-queue")["QueueUrl"]
    settings = Settings(
        sender_email=SENDER,
        idempotency_table="idempotency",
        dead_letter_queue_url=dlq_url,
        max_receive_count=MAX_RECEIVES,
        email_queue_url=queue_url,
    )
    monkeypatch.setattr(handler, "SETTINGS", settings)
    monkeypatch.setattr(handler, "SENDER", handler.build_sender(settings))
    # run_queue applies a copy's delay itself; moto would hold it for real seconds.
    monkeypatch.setattr(sender_module, "REQUEUE_DELAY_SECONDS", 0)
    clock = SimClock()
    clock.install(monkeypatch, handler.SENDER)
    return dlq_url, queue_url, clock


def take_copies(queue_url: str, queue: list[Message], clock: SimClock, outcome: Outcome) -> None:
    """Requests the sender put back on the email queue: new messages, their receives starting again."""
    sqs = client("sqs")
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not got.get("Messages"):
            return
        for message in got["Messages"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            # The copy stands for the request it came from: the checks look results up by that id.
            outcome.copies[message["MessageId"]] = attributes.get("idempotency_source", message["MessageId"])
            visible_at = clock.time() + REQUEUE_DELAY
            queue.append(Message(message["MessageId"], message["Body"], 0, visible_at, attributes))


def run_queue(
    queue: list[Message], clock: SimClock, outcome: Outcome, context: SoakContext, queue_url: str
) -> None:
    """SQS and Lambda's event source mapping, played until the queue is empty."""
    handler = load_handler()
    while queue:
        now = clock.time()
        visible = [m for m in queue if m.visible_at <= now]
        if not visible:
            clock.advance(min(m.visible_at for m in queue) - now)
            continue
        batch: list[Message] = []
        for message in visible:
            if len(batch) == BATCH:
                break
            if message.receives >= MAX_RECEIVES:  # the redrive policy: to the DLQ, as it is, no reason
                queue.remove(message)
                outcome.redriven[message.message_id] += 1
                continue
            message.receives += 1
            batch.append(message)
        if not batch:
            continue
        outcome.invocations += 1
        context.start()
        failed_ids: set[str]
        try:
            result = handler.lambda_handler({"Records": [m.record() for m in batch]}, context)
            failed_ids = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        except Killed:
            outcome.kills += 1
            failed_ids = {m.message_id for m in batch}  # no response: the whole batch comes back
        except Exception as exc:  # noqa: BLE001 - a soak counts every crash and goes on
            outcome.crashes.append(f"{type(exc).__name__}: {exc}")
            failed_ids = {m.message_id for m in batch}
        clock.advance(SECONDS_PER_INVOCATION)
        for message in batch:
            if message.message_id in failed_ids:
                message.visible_at = clock.time() + VISIBILITY_TIMEOUT
            else:
                queue.remove(message)
        take_copies(queue_url, queue, clock, outcome)


def drain_dlq(dlq_url: str, outcome: Outcome, tally: Tally) -> None:
    sqs = client("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            if "error_code" not in attributes:
                tally.fail("wrong", "a DLQ message with no error_code")
                tally.note("reasonless DLQ messages")
                continue
            source = outcome.copies.get(attributes["source_message_id"], attributes["source_message_id"])
            outcome.dead.setdefault(source, []).append(attributes["error_code"])


def note_parked(codes: list[str], sends: int, tally: Tally) -> None:
    """Count a valid request in the DLQ; one parked as SendOutcomeUnknown that SES never accepted is the
    case the send mark must not produce."""
    if codes:
        tally.note("valid requests in the DLQ (SendOutcomeUnknown...)")
        if sends == 1:
            tally.note("of which sent once (the DLQ says: check before resending)")
    if "SendOutcomeUnknown" in codes:
        tally.note("SendOutcomeUnknown")
        if sends == 0:
            tally.note("SendOutcomeUnknown, never sent")


def check(valid: dict[str, str], invalid: dict[str, str], outcome: Outcome, tally: Tally) -> None:
    for message_id, to in valid.items():
        sends = outcome.sent[to]
        codes = outcome.dead.get(message_id, [])
        if sends > 1:
            tally.fail("duplicated", f"{message_id} ({to}) sent {sends} times")
        if sends == 0 and not codes:
            tally.fail("lost", f"{message_id} ({to}) never sent and not in the DLQ with a reason")
        unexplained = set(codes) - EXPLAINED_CODES
        if unexplained:
            tally.fail("wrong", f"valid {message_id} dead-lettered with {sorted(unexplained)}")
        note_parked(codes, sends, tally)
    for message_id, expected in invalid.items():
        codes = outcome.dead.get(message_id, [])
        if not codes:
            tally.fail("lost", f"invalid {message_id} is not in the DLQ")
        elif set(codes) != {expected}:
            tally.fail("wrong", f"invalid {message_id}: {sorted(set(codes))}, expected {expected}")
    invalid_recipients = [to for to in outcome.sent if to.startswith("bad")]
    for to in invalid_recipients:
        tally.fail("wrong", f"an invalid request was sent to {to}")
    for message_id, count in outcome.redriven.items():
        tally.fail("wrong", f"{message_id} moved to the DLQ by the redrive policy, with no reason")
        tally.note("reasonless DLQ messages", count)
    for crash in outcome.crashes:
        tally.fail("crashed", crash)


@pytest.fixture
def soak_aws() -> Iterator[None]:
    reset_clients()
    with moto.mock_aws():
        yield
    reset_clients()


@pytest.mark.usefixtures("soak_aws")
def test_sender_soak(monkeypatch: pytest.MonkeyPatch) -> None:
    total = size(ci=100, full=1000)
    rng = random.Random(seed())
    tally = Tally("email sender")
    tally.note("reasonless DLQ messages", 0)  # shown even when none: it is one of the targets
    tally.note("SendOutcomeUnknown", 0)
    tally.note("SendOutcomeUnknown, never sent", 0)  # must stay 0: a send that never happened
    dlq_url, queue_url, clock = build_world(monkeypatch)
    faults = Faults(random.Random(rng.random()))
    outcome = Outcome()
    context = SoakContext(clock)
    install_faults(faults, outcome.sent, context)

    valid: dict[str, str] = {}  # message id -> its one recipient
    invalid: dict[str, str] = {}  # message id -> the error code it must reach the DLQ with
    queue: list[Message] = []
    for index in range(total):
        message_id = str(uuid.UUID(int=rng.getrandbits(128)))
        if rng.random() < P_INVALID:
            body, code = invalid_body(rng, index)
            invalid[message_id] = code
        else:
            to = f"user{index}@example.com"
            extra = {"idempotency_key": f"k{index}"} if index % 2 else {}
            body = json.dumps({**welcome(to), **extra})
            valid[message_id] = to
        queue.append(Message(message_id, body))
    for original in [m for m in queue if rng.random() < P_DUPLICATE]:  # SQS delivers these twice
        copy = dataclasses.replace(original)
        queue.insert(rng.randint(queue.index(original) + 1, len(queue)), copy)
        faults.counts["duplicate deliveries"] += 1

    level = logger.log_level
    logger.setLevel("ERROR")  # thousands of "handled" lines and injected warnings say nothing here
    started = time.perf_counter()
    try:
        run_queue(queue, clock, outcome, context, queue_url)
    finally:
        logger.setLevel(level)
    tally.seconds = time.perf_counter() - started
    drain_dlq(dlq_url, outcome, tally)

    tally.tried = total
    check(valid, invalid, outcome, tally)
    for name, count in sorted(faults.counts.items()):
        tally.note(name, count)
    tally.note("invocations", outcome.invocations)
    tally.note("invocations killed", outcome.kills)
    tally.note("emails accepted by SES", sum(outcome.sent.values()))
    # The count the hooks kept is moto's own.
    assert len(moto.backends.get_backend("ses")[ACCOUNT][REGION].sent_messages) == sum(outcome.sent.values())
    publish(tally)
    assert faults.counts["kills after accept"] > 0, "the faults really happened"
    assert (
        faults.counts["marks hung"] > 0 and faults.counts["record clearings failed after a refused send"] > 0
    )
    assert tally.notes["SendOutcomeUnknown, never sent"] == 0, tally.summary()
    assert tally.clean, tally.summary()
