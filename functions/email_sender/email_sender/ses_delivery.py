"""Sends one templated email through SES v1 and sorts its failures into permanent, transient and paused."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from groundskeeper.errors import (
    DAILY_QUOTA_EXCEEDED,
    PAUSED_CODES,
    UNKNOWN_ERROR,
    CodedError,
    PermanentError,
    SendingPaused,
    TransientError,
    error_code,
    error_message,
    is_retryable,
)

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ses.type_defs import DestinationTypeDef

    from email_sender.email_request import EmailRequest


def send_templated_email(ses: SESClient, request: EmailRequest) -> str:
    """Send `request` and return SES's MessageId; failures come out as the classified exception."""
    destination: DestinationTypeDef = {"ToAddresses": list(request.to)}
    if request.cc:
        destination["CcAddresses"] = list(request.cc)
    if request.bcc:
        destination["BccAddresses"] = list(request.bcc)
    try:
        response = ses.send_templated_email(
            Source=request.sender,
            Destination=destination,
            ReplyToAddresses=list(request.reply_to),
            Template=request.template,
            TemplateData=json.dumps(request.data, separators=(",", ":"), ensure_ascii=False),
        )
    except ClientError as exc:
        raise classify_send_error(exc) from exc
    return response["MessageId"]


def classify_send_error(exc: ClientError) -> CodedError:
    """The exception that says what to do with a failed send (see docs/email-sender.md, error codes)."""
    code = error_code(exc) or UNKNOWN_ERROR
    message = error_message(exc)
    # The whole account (or configuration set) is paused: every further send in this batch would fail too.
    if code in PAUSED_CODES:
        return SendingPaused(code, message)
    # SES reports the 24-hour quota with the same code as the per-second rate; only the message differs,
    # and retrying within minutes cannot help.
    if code == "Throttling" and "daily message quota" in message.lower():
        return PermanentError(DAILY_QUOTA_EXCEEDED, message)
    if is_retryable(exc):
        return TransientError(code, message)
    return PermanentError(code, message)
