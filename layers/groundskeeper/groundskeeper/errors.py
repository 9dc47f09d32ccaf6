"""The project's base errors and what is retryable: botocore's code sets, and a failure's code and message.

Every function builds on these; a function's own vocabulary (the email sender's outcomes and codes, for
instance) lives in that function's package.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

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


class NotAnSqsBatch(GroundskeeperError, ValueError):
    """A queue-triggered function was invoked with something other than an SQS batch (an operator's test
    invoke, another trigger's event): refused whole, before any AWS call. The message names the problem."""


class CodedError(GroundskeeperError):
    """An error with a machine-readable `code` (the project's own, or AWS's) and a `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PermanentError(CodedError):
    """A failure that retrying cannot fix (bad input, rejected by AWS): the record is dead-lettered."""


class TransientError(CodedError):
    """A failure that a later retry may fix (throttling, a 5xx, a timeout): the record goes back to SQS."""


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
