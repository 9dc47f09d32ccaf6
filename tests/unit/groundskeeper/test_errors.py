"""Error classification: which AWS failures are worth retrying, and the shape of the project's own errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from groundskeeper.errors import (
    NETWORK_ERRORS,
    RETRYABLE_CODES,
    THROTTLING_CODES,
    CodedError,
    GroundskeeperError,
    PermanentError,
    SettingsError,
    TransientError,
    coded_failure,
    error_code,
    error_message,
    http_status,
    is_retryable,
)

# botocore's standard retry mode: its throttling codes and its transient codes (botocore/retries/standard.py).
BOTOCORE_THROTTLING = [
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
]
BOTOCORE_TRANSIENT = ["RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"]
# The 5xx codes, retryable even when a response comes back with a 4xx status.
SERVER_SIDE = [
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
]
ALL_RETRYABLE = sorted({*BOTOCORE_THROTTLING, *BOTOCORE_TRANSIENT, *SERVER_SIDE})


def client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "AnyOperation",
    )


def test_the_retryable_set_is_exactly_botocores_codes_and_the_server_side_ones() -> None:
    assert sorted(RETRYABLE_CODES) == ALL_RETRYABLE
    assert sorted(THROTTLING_CODES) == sorted(BOTOCORE_THROTTLING)


def test_botocore_still_lists_the_same_throttling_and_transient_codes() -> None:
    """If a botocore upgrade adds a code, this says so; the lists above then need it too."""
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    assert sorted(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) == sorted(BOTOCORE_THROTTLING)
    assert sorted(TransientRetryableChecker._TRANSIENT_ERROR_CODES) == sorted(BOTOCORE_TRANSIENT)


@pytest.mark.parametrize("code", ALL_RETRYABLE)
def test_each_retryable_code_is_retryable_with_a_4xx_status(code: str) -> None:
    assert is_retryable(client_error(code, 400))


@pytest.mark.parametrize("code", ALL_RETRYABLE)
def test_each_retryable_code_is_retryable_without_any_status(code: str) -> None:
    assert is_retryable(ClientError({"Error": {"Code": code}}, "AnyOperation"))


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_any_5xx_is_retryable_even_with_an_unknown_code(status: int) -> None:
    assert is_retryable(client_error("SomethingNew", status))


def test_429_is_retryable_whatever_the_code() -> None:
    assert is_retryable(client_error("SomethingNew", 429))


@pytest.mark.parametrize("status", [400, 403, 404, 428, 430, 499])
def test_an_unknown_code_with_a_4xx_status_is_not_retryable(status: int) -> None:
    assert not is_retryable(client_error("SomethingNew", status))


@pytest.mark.parametrize(
    "code", ["MessageRejected", "AccessDenied", "InvalidAddress.PtrSet", "NoSuchBucket", "throttling", ""]
)
def test_client_side_failures_are_permanent(code: str) -> None:
    assert not is_retryable(client_error(code))


@pytest.mark.parametrize(
    "exc",
    [
        ConnectTimeoutError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
        EndpointConnectionError(endpoint_url="https://x"),
        ConnectionClosedError(endpoint_url="https://x"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_each_network_error_is_retryable(exc: Exception) -> None:
    assert isinstance(exc, NETWORK_ERRORS)
    assert is_retryable(exc)


def test_the_network_errors_are_exactly_these() -> None:
    assert set(NETWORK_ERRORS) == {
        ConnectTimeoutError,
        ReadTimeoutError,
        EndpointConnectionError,
        ConnectionClosedError,
    }


def test_transient_errors_are_retryable_and_the_others_are_not() -> None:
    assert is_retryable(TransientError("Throttling", "slow down"))
    assert not is_retryable(PermanentError("Throttling", "a permanent error is never retried"))
    assert not is_retryable(ParamValidationError(report="bad shape"))
    assert not is_retryable(ValueError("x"))


def test_error_code_message_and_status_come_from_the_response() -> None:
    exc = client_error("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
    assert error_code(exc) == "NoSuchCORSConfiguration"
    assert error_message(exc) == "The CORS configuration does not exist"
    assert http_status(exc) == 404


def test_http_status_is_an_int_even_when_the_response_holds_a_string() -> None:
    exc = ClientError({"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": "503"}}, "Op")  # type: ignore[typeddict-item]
    assert http_status(exc) == 503
    assert is_retryable(exc)


@pytest.mark.parametrize(
    "response",
    [{}, {"Error": {}}, {"Error": {"Code": ""}}, {"ResponseMetadata": {}}],
    ids=["nothing", "empty-error", "empty-code", "metadata-only"],
)
def test_a_client_error_without_code_or_status_has_the_defaults(response: dict[str, Any]) -> None:
    exc = ClientError(response, "AnyOperation")  # type: ignore[arg-type]
    assert error_code(exc) is None
    assert http_status(exc) is None
    assert error_message(exc) == str(exc)
    assert is_retryable(exc) is False


def test_a_client_error_without_response_metadata_is_still_classified_by_its_code() -> None:
    assert is_retryable(ClientError({"Error": {"Code": "ThrottlingException"}}, "Op"))
    assert not is_retryable(ClientError({"Error": {"Code": "AccessDenied"}}, "Op"))


def test_a_client_error_without_a_message_falls_back_to_its_text() -> None:
    exc = ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")
    assert error_message(exc) == str(exc)
    assert "AccessDenied" in error_message(exc)


def test_non_client_errors_have_no_code_or_status_and_their_own_text() -> None:
    assert error_code(ValueError("x")) is None
    assert http_status(ValueError("x")) is None
    assert error_message(ValueError("plain text")) == "plain text"


@pytest.mark.parametrize("cls", [PermanentError, TransientError])
def test_the_coded_errors_share_one_base_that_carries_code_and_message(cls: type[CodedError]) -> None:
    exc = cls("SomeCode", "what happened")
    assert isinstance(exc, CodedError)
    assert isinstance(exc, GroundskeeperError)
    assert (exc.code, exc.message, str(exc)) == ("SomeCode", "what happened", "SomeCode: what happened")


def test_permanent_and_transient_errors_are_distinct() -> None:
    assert not issubclass(PermanentError, TransientError)
    assert not issubclass(TransientError, PermanentError)


def test_settings_error_names_the_variable_and_is_a_value_error() -> None:
    exc = SettingsError("SEND_CONCURRENCY", "must be a whole number")
    assert isinstance(exc, ValueError)
    assert exc.variable == "SEND_CONCURRENCY"
    assert str(exc) == "SEND_CONCURRENCY: must be a whole number"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (PermanentError("BadWorkItem", "not JSON"), ("BadWorkItem", "not JSON")),
        (TransientError("DeadlineNear", "2 s left"), ("DeadlineNear", "2 s left")),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"),
            ("AccessDenied", "no"),
        ),
        (
            ClientError({"Error": {"Message": "no code"}}, "AssumeRole"),
            ("ClientError", "no code"),
        ),
        (ValueError("bad value"), ("ValueError", "bad value")),
    ],
)
def test_a_failure_has_a_code_and_a_message(exc: BaseException, expected: tuple[str, str]) -> None:
    """The project's own code first, else AWS's, else the exception's type: what a DLQ message carries."""
    assert coded_failure(exc) == expected
