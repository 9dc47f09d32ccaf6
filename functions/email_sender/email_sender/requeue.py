"""Puts an email request back on the email queue as a new message: its receives start again, its key stays.

Two cases use it, each where returning the record to SQS would be wrong:
- sending is paused: a paused receive must not count toward `maxReceiveCount`, or a long pause would
  dead-letter every waiting email (docs/email-sender.md, "Sending paused");
- SES refused a send after its send-started mark, and the mark could not be cleared: the copy names the
  refused attempt, so its delivery may claim the marked record instead of parking it as SendOutcomeUnknown.

The copy keeps the body unchanged. Its message attributes carry what the body cannot: the message id the
idempotency key was made from (a request without `idempotency_key` is keyed by it), and the refused attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from groundskeeper.errors import error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# The message id a request's idempotency key comes from, when the body has no `idempotency_key`.
IDEMPOTENCY_SOURCE = "idempotency_source"
# The `send_attempt` of a mark whose send SES refused: the one record state a copy may take over.
REFUSED_SEND_ATTEMPT = "refused_send_attempt"


def _attribute(record: Mapping[str, Any], name: str) -> str | None:
    """A String message attribute as Lambda's SQS event carries it (`stringValue`), else None."""
    attributes = record.get("messageAttributes")
    value = attributes.get(name) if isinstance(attributes, Mapping) else None
    text = value.get("stringValue") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) and text else None


def idempotency_source(record: Mapping[str, Any]) -> str:
    """The message id that keys a request without `idempotency_key`: the first copy's, or this one's."""
    return _attribute(record, IDEMPOTENCY_SOURCE) or str(record.get("messageId", ""))


def refused_attempt(record: Mapping[str, Any]) -> str | None:
    return _attribute(record, REFUSED_SEND_ATTEMPT)


def requeue(
    sqs: SQSClient,
    queue_url: str,
    record: Mapping[str, Any],
    *,
    delay_seconds: int,
    refused: str | None = None,
) -> bool:
    """Send the record's copy; False if there is no queue to send it to, or SQS refused (then the caller
    returns the record to SQS as before)."""
    if not queue_url:
        return False

    def text(value: str) -> MessageAttributeValueTypeDef:
        return {"DataType": "String", "StringValue": value}

    attributes = {IDEMPOTENCY_SOURCE: text(idempotency_source(record))}
    if refused:
        attributes[REFUSED_SEND_ATTEMPT] = text(refused)
    try:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=str(record["body"]),
            DelaySeconds=delay_seconds,
            MessageAttributes=attributes,
        )
    except (ClientError, BotoCoreError) as exc:
        logger.warning(
            "could not put the email request back on its queue; SQS delivers it again",
            extra={
                "message_id": record.get("messageId"),
                "error_code": error_code(exc) or type(exc).__name__,
            },
        )
        return False
    return True
