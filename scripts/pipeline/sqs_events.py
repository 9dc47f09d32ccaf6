"""Turns messages received from a queue into the SQS event Lambda's event source mapping would deliver."""

from __future__ import annotations

from typing import Any

from scripts.pipeline.world import ACCOUNT_ID, HOME_REGION


def queue_arn(queue_url: str) -> str:
    return f"arn:aws:sqs:{HOME_REGION}:{ACCOUNT_ID}:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"


def sqs_event(messages: list[dict[str, Any]], queue_url: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn(queue_url),
                "awsRegion": HOME_REGION,
            }
            for message in messages
        ]
    }


def receive_batches(sqs: Any, queue_url: str, *, batch_size: int = 10, idle_polls: int = 2) -> Any:
    """Yield batches of received messages until the queue has been empty for `idle_polls` polls in a row."""
    empty = 0
    while empty < idle_polls:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        yield messages


def delete(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    if messages:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
