"""SES sending paused for 6 hours: the mail waits in the queue, then is sent once; none reaches the DLQ.

Simulated under moto with a fake clock. SQS is played by the test as in the soak (receive counts, the
visibility timeout, the redrive policy moving a message received `maxReceiveCount` times), and the event
source mapping is moto's: the test polls the queue only while `GetEventSourceMapping` says Enabled. The
sender stops the mapping when SES answers paused; the pause checker (`check_pause`) runs every 5 minutes.
Producers keep sending during the pause.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Any

import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError

from email_sender import handler, sender
from email_sender.pause_checker import check_pause
from groundskeeper.aws_clients import client, single_attempt_client
from tests.conftest import REGION
from tests.integration.email_sender.conftest import ACCOUNT, SenderWorld, welcome
from tests.integration.email_sender.sim_clock import SimClock

MAX_RECEIVES = 5  # template.yaml's EmailMaxReceiveCount
VISIBILITY_TIMEOUT = 180.0  # template.yaml's EmailQueue
CHECK_EVERY = 300.0  # the pause checker's schedule
TICK = 20.0  # how often the event source mapping polls (simulated)
PAUSE_STARTS, PAUSE_ENDS = 60.0, 6 * 3600.0 + 60.0
SES_URL = f"https://email.{REGION}.amazonaws.com/"


@dataclass
class Message:
    message_id: str
    body: str
    attributes: dict[str, str]
    receives: int = 0
    visible_at: float = 0.0

    def record(self, queue_arn: str) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "receiptHandle": str(uuid.uuid4()),
            "body": self.body,
            "attributes": {"ApproximateReceiveCount": str(self.receives), "SentTimestamp": "1523232000000"},
            "messageAttributes": {
                k: {"stringValue": v, "dataType": "String"} for k, v in self.attributes.items()
            },
            "md5OfBody": "-",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        }


def respond(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(SES_URL, status, HTTPHeaders(), None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def create_mapping(queue_arn: str, function_name: str) -> str:
    role = client("iam").create_role(RoleName="sender", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    client("lambda").create_function(
        FunctionName=function_name,
        Runtime="python3.13",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    mapping = client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function_name, BatchSize=10
    )
    # The test plays the mapping's poller itself; moto's own would run the dummy function on each send.
    queue_name = queue_arn.rsplit(":", 1)[1]
    moto.backends.get_backend("sqs")[ACCOUNT][REGION].queues[queue_name].lambda_event_source_mappings.clear()
    return mapping["UUID"]


@pytest.mark.parametrize("stoppable", [True, False], ids=["mapping-stopped", "mapping-cannot-be-stopped"])
def test_a_six_hour_pause_ends_with_every_email_sent_once_and_none_in_the_dlq(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch, stoppable: bool
) -> None:
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="email-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    mapping = create_mapping(queue_arn, world.lambda_context.function_name)
    world.configure(email_queue_url=queue_url, max_receive_count=MAX_RECEIVES)
    clock = SimClock()
    clock.install(monkeypatch, handler.SENDER)
    # The simulation applies the copies' delay itself; moto would hold them for real seconds.
    monkeypatch.setattr(sender, "REQUEUE_DELAY_SECONDS", 0)
    start = clock.time()
    ses_state = {"paused": False}

    def pause_the_send(**_: Any) -> Any:
        if ses_state["paused"]:
            return respond(400, {"Error": {"Code": "AccountSendingPausedException", "Message": "paused"}})
        return None

    def sending_enabled(**_: Any) -> Any:
        return respond(200, {"Enabled": not ses_state["paused"]})

    single_attempt_client("ses").meta.events.register("before-call.ses.SendEmail", pause_the_send)
    client("ses").meta.events.register("before-call.ses.GetAccountSendingEnabled", sending_enabled)
    if not stoppable:

        def deny(**_: Any) -> Any:
            return respond(403, {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}})

        client("lambda").meta.events.register("before-call.lambda.UpdateEventSourceMapping", deny)

    queue: list[Message] = []
    recipients: dict[str, str] = {}  # message id -> its recipient
    redriven: list[str] = []
    max_receives = Counter[str]()

    def produce(n: int) -> None:
        for _ in range(n):
            message_id = str(uuid.uuid4())
            to = f"u{len(recipients)}@example.com"
            recipients[message_id] = to
            extra = {"idempotency_key": f"k-{to}"} if len(recipients) % 2 else {}
            queue.append(Message(message_id, json.dumps(welcome(to, **extra)), {}, visible_at=now()))

    def now() -> float:
        return clock.time() - start

    def take_copies() -> None:
        """What the sender put back on the queue: new messages, their receives starting again."""
        while True:
            got = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            if not got.get("Messages"):
                return
            for message in got["Messages"]:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                delay = sender.REQUEUE_DELAY_SECONDS or 300
                queue.append(
                    Message(message["MessageId"], message["Body"], attributes, visible_at=now() + delay)
                )

    def poll() -> None:
        visible = [m for m in queue if m.visible_at <= now()]
        batch: list[Message] = []
        for message in visible[:10]:
            if message.receives >= MAX_RECEIVES:  # the redrive policy, with no reason
                queue.remove(message)
                redriven.append(message.message_id)
                continue
            message.receives += 1
            max_receives[message.attributes.get("idempotency_source", message.message_id)] = max(
                max_receives[message.attributes.get("idempotency_source", message.message_id)],
                message.receives,
            )
            batch.append(message)
        if not batch:
            return
        result = handler.lambda_handler(
            {"Records": [m.record(queue_arn) for m in batch]}, world.lambda_context
        )
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        for message in batch:
            if message.message_id in failed:
                message.visible_at = now() + VISIBILITY_TIMEOUT
            else:
                queue.remove(message)

    produce(40)
    next_check = 0.0
    states = Counter[str]()
    ticks = 0
    while now() < PAUSE_ENDS + 3600:
        ses_state["paused"] = PAUSE_STARTS <= now() < PAUSE_ENDS
        ticks += 1
        if ticks % 30 == 0 and now() < PAUSE_ENDS:
            produce(1)  # producers go on sending during the pause, one request every 10 minutes
        if now() >= next_check:
            try:
                check_pause(client("ses"), client("lambda"), mapping, "")
            except ClientError:
                assert not stoppable  # a failed scheduled check; the next one tries again
            next_check += CHECK_EVERY
        state = client("lambda").get_event_source_mapping(UUID=mapping)["State"]
        states[state] += 1
        if state == "Enabled":
            poll()
        take_copies()
        clock.advance(TICK)

    sent = Counter(email.destinations["ToAddresses"][0] for email in world.sent())
    print(  # seen with -s: what the pause cost
        f"\n{len(recipients)} requests, {sum(sent.values())} emails, mapping disabled for "
        f"{states['Disabled'] * TICK / 3600:.2f} h, at most {max(max_receives.values())} receives per message"
    )
    assert queue == []
    assert redriven == []
    assert world.dead_letters() == []
    assert sorted(sent) == sorted(recipients.values())
    assert set(sent.values()) == {1}
    if stoppable:
        # The mapping was off for the pause, so a waiting request was received at most once while paused.
        assert states["Disabled"] * TICK >= PAUSE_ENDS - PAUSE_STARTS - CHECK_EVERY
        assert max(max_receives.values()) <= 2
    assert client("lambda").get_event_source_mapping(UUID=mapping)["State"] == "Enabled" or not stoppable
