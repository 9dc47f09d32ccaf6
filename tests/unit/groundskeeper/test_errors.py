"""Error classification: which AWS failures are worth retrying."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from groundskeeper.errors import PermanentError, TransientError, error_code, error_message, is_retryable


def client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "AnyOperation",
    )


def test_error_code_and_message_come_from_the_response() -> None:
    exc = client_error("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
    assert error_code(exc) == "NoSuchCORSConfiguration"
    assert error_message(exc) == "The CORS configuration does not exist"
    assert error_code(ValueError("x")) is None


@pytest.mark.parametrize("code", ["Throttling", "RequestLimitExceeded", "SlowDown", "ServiceUnavailable"])
def test_throttling_and_unavailable_are_retryable(code: str) -> None:
    assert is_retryable(client_error(code))


def test_any_5xx_is_retryable_even_with_an_unknown_code() -> None:
    assert is_retryable(client_error("SomethingNew", 503))


@pytest.mark.parametrize("code", ["MessageRejected", "AccessDenied", "InvalidAddress.PtrSet", "NoSuchBucket"])
def test_client_side_failures_are_permanent(code: str) -> None:
    assert not is_retryable(client_error(code))


def test_network_errors_and_transient_errors_are_retryable_but_validation_is_not() -> None:
    assert is_retryable(EndpointConnectionError(endpoint_url="http://x"))
    assert is_retryable(TransientError("Throttling", "slow down"))
    assert not is_retryable(PermanentError("InvalidMessage", "bad json"))
    assert not is_retryable(ParamValidationError(report="bad shape"))
