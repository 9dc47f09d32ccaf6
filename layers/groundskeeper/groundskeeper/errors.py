"""The project's own exceptions, and the one place that says which AWS error codes are worth retrying."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class GroundskeeperError(Exception):
    """Base class for errors raised on purpose by Groundskeeper code."""


class SettingsError(GroundskeeperError, ValueError):
    """An environment variable is missing or malformed; raised at cold start and names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class PermanentError(GroundskeeperError):
    """A failure that retrying cannot fix (bad input, rejected by AWS). `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientError(GroundskeeperError):
    """A failure that a later retry may fix (throttling, a 5xx, a timeout)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
    }
)

_NETWORK_ERRORS = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError, ConnectionClosedError)


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
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def is_retryable(exc: BaseException) -> bool:
    """True for throttling, 5xx and network timeouts: the failures that a later attempt may fix."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, _NETWORK_ERRORS):
        return True
    if isinstance(exc, ClientError):
        status = http_status(exc)
        return error_code(exc) in RETRYABLE_CODES or (status is not None and status >= 500)
    return False
