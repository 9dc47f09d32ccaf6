"""Sends one rendered email through SES v1 and sorts its failures into permanent, transient and paused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from email_sender.errors import (
    DAILY_QUOTA_EXCEEDED,
    PAUSED_CODES,
    SEND_OUTCOME_UNKNOWN,
    UNKNOWN_ERROR,
    OutcomeUnknown,
    SendingPaused,
)
from groundskeeper.errors import (
    CodedError,
    PermanentError,
    TransientError,
    error_code,
    error_message,
    is_retryable,
)

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ses.type_defs import BodyTypeDef, DestinationTypeDef

    from email_sender.email_request import EmailRequest
    from email_sender.template_store import RenderedEmail

CHARSET = "UTF-8"


def send_email(ses: SESClient, request: EmailRequest, rendered: RenderedEmail, configuration_set: str) -> str:
    """Send `rendered` to `request`'s recipients and return SES's MessageId; failures come out classified.

    The parts are rendered here, not by SES (see docs/email-sender.md, HTML safety): SES gets the finished
    subject, text and HTML. A part that renders empty is left out, as SES leaves out an empty template
    part. `configuration_set` (the stack's: the sender requires it at cold start) makes SES report this
    message's bounces, complaints, rejects and delays; IAM allows sends through no other set, but cannot
    require one (docs/security.md). "" (the CLI's direct send without SES_CONFIGURATION_SET) names none.
    """
    destination: DestinationTypeDef = {"ToAddresses": list(request.to)}
    if request.cc:
        destination["CcAddresses"] = list(request.cc)
    if request.bcc:
        destination["BccAddresses"] = list(request.bcc)
    body: BodyTypeDef = {}
    if rendered.text or not rendered.html:
        body["Text"] = {"Data": rendered.text, "Charset": CHARSET}
    if rendered.html:
        body["Html"] = {"Data": rendered.html, "Charset": CHARSET}
    extra: dict[str, Any] = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    try:
        response = ses.send_email(
            Source=request.sender,
            Destination=destination,
            ReplyToAddresses=list(request.reply_to),
            Message={"Subject": {"Data": rendered.subject, "Charset": CHARSET}, "Body": body},
            **extra,
        )
    except ClientError as exc:
        raise classify_send_error(exc) from exc
    # The client makes one attempt (no botocore retries: a retry of a send whose answer was lost is a second
    # email). No connection, or none in time: nothing reached SES, so SQS may safely retry.
    except BotocoreConnectionError as exc:
        raise TransientError(type(exc).__name__, str(exc)) from exc
    # The request went out and the answer did not come back (a read timeout, a connection closed): SES may
    # have accepted it. Nobody can tell, so it is never sent again automatically.
    except HTTPClientError as exc:
        raise OutcomeUnknown(
            SEND_OUTCOME_UNKNOWN, f"{type(exc).__name__} after the request was sent: {exc}"
        ) from exc
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
