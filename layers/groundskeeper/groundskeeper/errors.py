"""The project's one error vocabulary: its exceptions, the email sender's outcome codes, what is retryable.

The email sender's part mirrors the outcome table of the README (and docs/email-sender.md, "Error codes"):
every code a record can end with is a constant here, grouped by the outcome it leads to.
"""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class Outcome(StrEnum):
    """What happened to one email request: the `outcome` of its log line."""

    SENT = "sent"
    DUPLICATE = "duplicate"  # its key was delivered before: nothing sent now
    DEAD_LETTERED = "dead_lettered"  # a PermanentError: in the DLQ with its code
    RETRY = "retry"  # a TransientError (or any unexpected one): batchItemFailures
    PAUSED = "paused"  # SendingPaused: batchItemFailures, and the batch stops sending


# Dead-lettered at once (PermanentError). Any other non-retryable AWS code passes through as itself.
INVALID_MESSAGE = "InvalidMessage"
TEMPLATE_DOES_NOT_EXIST = "TemplateDoesNotExist"
MISSING_RENDERING_ATTRIBUTE = "MissingRenderingAttribute"
INVALID_TEMPLATE = "InvalidTemplate"
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
DAILY_QUOTA_EXCEEDED = "DailyQuotaExceeded"
# A ClientError that carries no code at all.
UNKNOWN_ERROR = "UnknownError"

# Dead-lettered at once: a send SES may or may not have accepted (a read timeout, a connection closed
# before the answer, or an earlier invocation killed during its send). It is never sent again on its own.
SEND_OUTCOME_UNKNOWN = "SendOutcomeUnknown"

# Retried by SQS (TransientError): too little time left in the invocation to start a record, or its send.
DEADLINE_NEAR = "DeadlineNear"
# Retried by SQS: the idempotency table could not be read or written before the send.
IDEMPOTENCY_UNAVAILABLE = "IdempotencyUnavailable"
# Retried by SQS: another invocation is delivering the same key right now.
SEND_IN_PROGRESS = "SendInProgress"

# The rest of the batch is retried with no further SES call (SendingPaused).
PAUSED_CODES = frozenset({"AccountSendingPausedException", "ConfigurationSetSendingPausedException"})

# Not an outcome: SES's answer to creating a template that exists (another sender published it first).
ALREADY_EXISTS = "AlreadyExists"

# botocore's standard retry mode (botocore/retries/standard.py): its throttling codes...
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
# ...its transient codes, and the 5xx codes that come with a status botocore retries on anyway.
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
    }
)
TOO_MANY_REQUESTS_STATUS = 429

NETWORK_ERRORS = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError, ConnectionClosedError)


class GroundskeeperError(Exception):
    """Base class for errors raised on purpose by Groundskeeper code."""


class SettingsError(GroundskeeperError, ValueError):
    """An environment variable is missing or malformed; raised at cold start and names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class CodedError(GroundskeeperError):
    """An error with a machine-readable `code` (one of the outcome table's, or AWS's own) and a `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PermanentError(CodedError):
    """A failure that retrying cannot fix (bad input, rejected by AWS): the record is dead-lettered."""


class TransientError(CodedError):
    """A failure that a later retry may fix (throttling, a 5xx, a timeout): the record goes back to SQS."""


class SendingPaused(CodedError):
    """SES refuses to send until someone resumes sending: stop the batch, don't burn the other messages."""


class OutcomeUnknown(CodedError):
    """The request went out but no answer came back: AWS may have acted on it. Never repeat it blindly."""


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError (for example "NoSuchCORSConfiguration"), else None."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None


def error_message(exc: BaseException) -> str:
    """The AWS error message of a ClientError, else the exception's own text."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a ClientError's response, else None."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def coded_failure(exc: BaseException) -> tuple[str, str]:
    """(code, message) of any failure: its own code, else AWS's, else the exception's type."""
    if isinstance(exc, CodedError):
        return exc.code, exc.message
    return error_code(exc) or type(exc).__name__, error_message(exc)


def is_retryable(exc: BaseException) -> bool:
    """True for throttling, 5xx and network timeouts: the failures that a later attempt may fix."""
    if isinstance(exc, (TransientError, *NETWORK_ERRORS)):
        return True
    if isinstance(exc, ClientError):
        status = http_status(exc)
        return (
            error_code(exc) in RETRYABLE_CODES
            or status == TOO_MANY_REQUESTS_STATUS
            or (status is not None and status >= 500)
        )
    return False
