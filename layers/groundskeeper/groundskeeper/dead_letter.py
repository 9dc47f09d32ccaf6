"""Moves a message that will never succeed to its dead-letter queue at once, with the reason as attributes.

An SQS redrive policy moves a message only after its last receive, and with no reason. The email sender and
the hub's work queues send a permanent failure there themselves, and any failure on the last receive, each
with `error_code` and `error_message` attributes that an operator reads before a redrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# SQS allows 256 KiB per message including attributes; a reason never needs more than this.
MAX_REASON_CHARS = 1000


def dead_letter(
    sqs: SQSClient, queue_url: str, body: str, *, code: str, reason: str, source_message_id: str
) -> str:
    """Send the ORIGINAL body, unchanged, so a fixed message can be redriven as is. Raises if SQS refuses."""

    def text(value: str) -> MessageAttributeValueTypeDef:
        return {"DataType": "String", "StringValue": value or "-"}  # SQS rejects empty strings

    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={
            "error_code": text(code),
            "error_message": text(reason[:MAX_REASON_CHARS]),
            "source_message_id": text(source_message_id),
        },
    )
    return response["MessageId"]


def receive_count(record: Mapping[str, Any]) -> int | None:
    """How many times SQS has delivered `record`, this time included; None if it does not say.

    SQS always sets `ApproximateReceiveCount`; a record without it, or with something that is not a
    positive integer, comes from somewhere else (a hand-made event, a test harness, a changed event
    format). The dead-letter policy counts it as the last receive (groundskeeper.sqs_batch).
    """
    attributes = record.get("attributes")
    value = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    try:
        count = int(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except ValueError:
        return None
    return count if count is not None and count > 0 else None
