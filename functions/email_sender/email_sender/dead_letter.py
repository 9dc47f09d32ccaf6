"""Moves a permanently failed email request to the dead-letter queue, with the reason as attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
