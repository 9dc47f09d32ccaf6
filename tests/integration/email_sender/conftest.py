"""The email sender's world under in-process moto: a verified sender, the idempotency table and the DLQ."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

# The handler reads its settings at import (cold start); these let it import. Tests swap SETTINGS anyway.
os.environ.setdefault("IDEMPOTENCY_TABLE", "email-sender-import-only")
os.environ.setdefault("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/import-only")
os.environ.setdefault("SES_CONFIGURATION_SET", "import-only")

from email_sender import handler
from email_sender.handlebars import template
from email_sender.settings import Settings
from groundskeeper.aws_clients import client, single_attempt_client
from tests.conftest import REGION

SENDER = "alerts@example.com"
ACCOUNT = "123456789012"  # moto's default account
# What a caller's decide() returns to fail a call: (code, message, HTTP status).
Failure = tuple[str, str, int]
# moto's GetSendQuota says 1 email/s; the tests that are not about pacing get a rate that never waits.
UNPACED_SEND_RATE = 100_000.0


@dataclass(frozen=True)
class SentEmail:
    """One SendEmail call that SES accepted, as the sender made it: the email exactly as rendered.

    moto keeps only the HTML body of a SendEmail, so the tests read the call itself.
    """

    source: str
    destinations: dict[str, list[str]]
    reply_to: list[str]
    subject: str
    text: str | None
    html: str | None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SentEmail:
        body = params["Message"]["Body"]
        return cls(
            source=params["Source"],
            destinations=params["Destination"],
            reply_to=params.get("ReplyToAddresses", []),
            subject=params["Message"]["Subject"]["Data"],
            text=body["Text"]["Data"] if "Text" in body else None,
            html=body["Html"]["Data"] if "Html" in body else None,
        )


@dataclass
class SenderWorld:
    settings: Settings
    lambda_context: Any
    calls: Counter[str] = field(default_factory=Counter)
    # What GetSendQuota answers as MaxSendRate; None answers AccessDenied.
    max_send_rate: float | None = UNPACED_SEND_RATE
    accepted: list[SentEmail] = field(default_factory=list)

    @property
    def ses(self) -> Any:
        return client("ses")

    @property
    def send_ses(self) -> Any:
        """The client the sender sends with: one attempt per call, no botocore retries."""
        return single_attempt_client("ses")

    def ses_for(self, operation: str) -> Any:
        return self.send_ses if operation == "SendEmail" else self.ses

    def record(self, body: str | dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        text = body if isinstance(body, str) else json.dumps(body)
        return {
            "messageId": message_id or str(uuid.uuid4()),
            "receiptHandle": "handle",
            "body": text,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000"},
            "messageAttributes": {},
            "md5OfBody": "-",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:EmailQueue",
            "awsRegion": REGION,
        }

    def configure(self, **changes: Any) -> None:
        """A new container: the handler's sender rebuilt from the settings with `changes`."""
        self.settings = dataclasses.replace(self.settings, **changes)
        handler.SENDER = handler.build_sender(self.settings)

    def invoke(self, *records: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler({"Records": list(records)}, self.lambda_context)
        return result

    def failed_ids(self, result: dict[str, Any]) -> list[str]:
        return [item["itemIdentifier"] for item in result["batchItemFailures"]]

    def sent(self) -> list[SentEmail]:
        """Every email SES accepted, in order; moto's own record must count the same."""
        assert len(moto.backends.get_backend("ses")[ACCOUNT][REGION].sent_messages) == len(self.accepted)
        return list(self.accepted)

    def dead_letters(self) -> list[tuple[str, dict[str, str]]]:
        """Drain the DLQ: (body, {attribute: value}) per message."""
        found: list[tuple[str, dict[str, str]]] = []
        while True:
            messages = (
                client("sqs")
                .receive_message(
                    QueueUrl=self.settings.dead_letter_queue_url,
                    MaxNumberOfMessages=10,
                    MessageAttributeNames=["All"],
                    VisibilityTimeout=600,
                )
                .get("Messages", [])
            )
            if not messages:
                return found
            for message in messages:
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                found.append((message["Body"], attributes))

    def idempotency_items(self) -> list[dict[str, Any]]:
        return client("dynamodb").scan(TableName=self.settings.idempotency_table)["Items"]

    def fail_ses(self, operation: str, decide: Callable[[dict[str, Any]], Failure | None]) -> None:
        """Answer `operation` with an error when decide(api params) says so; no retries, no sleeps.

        A before-call handler that returns a response short-circuits the HTTP send (how botocore's
        Stubber works), so botocore's retry loop and adaptive rate limiter never run.
        """

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["injected_failure"] = decide(params)

        def answer(context: dict[str, Any], **_: Any) -> Any:
            failure = context.get("injected_failure")
            if failure is None:
                return None
            code, message, status = failure
            parsed = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse(f"https://email.{REGION}.amazonaws.com/", status, HTTPHeaders(), None), parsed

        self.ses_for(operation).meta.events.register(f"before-parameter-build.ses.{operation}", remember)
        self.ses_for(operation).meta.events.register(f"before-call.ses.{operation}", answer)


@pytest.fixture(autouse=True)
def _fresh_compile_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test compiles its templates itself: the compile cache lasts the process (and mutmut runs several
    pytest sessions in one), so a text an earlier test compiled would skip the compile and its bounds."""
    monkeypatch.setattr(template, "_CACHE", template._Cache(template.CACHE_TEMPLATES, template.CACHE_CHARS))


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> SenderWorld:
    client("ses").verify_email_identity(EmailAddress=SENDER)
    client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq_url = client("sqs").create_queue(QueueName="email-dlq")["QueueUrl"]
    settings = Settings(sender_email=SENDER, idempotency_table="idempotency", dead_letter_queue_url=dlq_url)
    monkeypatch.setattr(handler, "SENDER", handler.build_sender(settings))
    world = SenderWorld(settings=settings, lambda_context=lambda_context)

    def send_quota(**_: Any) -> Any:
        url = f"https://email.{REGION}.amazonaws.com/"
        if world.max_send_rate is None:
            denied = {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}
            return AWSResponse(url, 403, HTTPHeaders(), None), {
                **denied,
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
        response = AWSResponse(url, 200, HTTPHeaders(), None)
        quota = {"MaxSendRate": world.max_send_rate, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}
        return response, {**quota, "ResponseMetadata": {"HTTPStatusCode": 200}}

    client("ses").meta.events.register("before-call.ses.GetSendQuota", send_quota)

    def remember_send(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["send_email_params"] = params

    def keep_accepted(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "MessageId" in parsed:
            world.accepted.append(SentEmail.from_params(context["send_email_params"]))

    world.send_ses.meta.events.register("before-parameter-build.ses.SendEmail", remember_send)
    world.send_ses.meta.events.register("after-call.ses.SendEmail", keep_accepted)

    def count(event_name: str, **_: Any) -> None:
        world.calls[event_name.removeprefix("before-parameter-build.")] += 1

    for service in ("ses", "sqs", "dynamodb"):
        client(service).meta.events.register("before-parameter-build", count)
    world.send_ses.meta.events.register("before-parameter-build", count)
    return world


def welcome(to: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    """A valid request for the bundled example-welcome template."""
    return {
        "template": "example-welcome",
        "to": [to],
        "data": {"name": "Ada", "product": "Groundskeeper"},
        **extra,
    }
