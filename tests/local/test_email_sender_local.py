"""The email sender through `sam local invoke` against a moto server: a bundled template is delivered."""

from __future__ import annotations

import json
from typing import Any

from tests.local.conftest import LOCAL_LOOP, MotoServer

pytestmark = LOCAL_LOOP

SENDER = "noreply@example.com"
EVENT = "sqs-email-request.json"


def _world(moto_server: MotoServer) -> dict[str, str]:
    moto_server.client("ses").verify_email_identity(EmailAddress=SENDER)
    moto_server.client("dynamodb").create_table(
        TableName="groundskeeper-local-idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = moto_server.client("sqs").create_queue(QueueName="groundskeeper-local-email-dlq")["QueueUrl"]
    return {
        "SENDER_EMAIL": SENDER,
        "IDEMPOTENCY_TABLE": "groundskeeper-local-idempotency",
        "SES_CONFIGURATION_SET": "groundskeeper-local-email",
        "DEAD_LETTER_QUEUE_URL": dlq,
    }


def _sent(moto_server: MotoServer) -> list[dict[str, Any]]:
    """What the sender asked SES to send (moto keeps the subject and the HTML body of each SendEmail)."""
    return list(moto_server.state().get("ses", {}).get("Message", []))


def test_sample_event_publishes_and_delivers_the_bundled_template(
    moto_server: MotoServer, sam_invoke: Any
) -> None:
    env = _world(moto_server)  # no template in SES yet: the sender publishes its bundled one

    assert sam_invoke("EmailSenderFunction", EVENT, env) == {"batchItemFailures": []}
    assert sam_invoke("EmailSenderFunction", EVENT, env) == {"batchItemFailures": []}  # a redelivery

    [sent] = _sent(moto_server)
    assert (sent["subject"], sent["source"]) == ("Welcome to Groundskeeper, Ada!", SENDER)
    assert "<h2>Hello Ada,</h2>" in sent["body"]
    assert moto_server.client("ses").get_template(TemplateName="example-welcome")["Template"]  # published
    assert (
        moto_server.client("sqs").receive_message(QueueUrl=env["DEAD_LETTER_QUEUE_URL"]).get("Messages")
        is None
    )


def test_an_invalid_request_goes_to_the_dead_letter_queue(moto_server: MotoServer, sam_invoke: Any) -> None:
    env = _world(moto_server)
    event = {
        "Records": [
            {
                "messageId": "11111111-2222-3333-4444-555555555555",
                "receiptHandle": "h",
                "body": json.dumps(
                    {"template": "example-welcome", "to": ["a@example.com"], "data": {}, "bcc_": []}
                ),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "-",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:EmailQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }
    assert sam_invoke("EmailSenderFunction", event, env) == {"batchItemFailures": []}
    messages = moto_server.client("sqs").receive_message(
        QueueUrl=env["DEAD_LETTER_QUEUE_URL"], MessageAttributeNames=["All"]
    )["Messages"]
    assert [m["MessageAttributes"]["error_code"]["StringValue"] for m in messages] == ["InvalidMessage"]
    assert _sent(moto_server) == []
