"""Which SES failures go to the DLQ, which are retried, and which stop the batch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from email_sender.ses_delivery import classify_send_error
from groundskeeper.errors import PermanentError, SendingPaused, TransientError


def ses_error(code: str, message: str = "m", status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendTemplatedEmail")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "message", "status", "kind", "expected_code"),
    [
        ("Throttling", "Maximum sending rate exceeded.", 400, TransientError, "Throttling"),
        ("Throttling", "Daily message quota exceeded.", 400, PermanentError, "DailyQuotaExceeded"),
        ("ServiceUnavailable", "try later", 503, TransientError, "ServiceUnavailable"),
        ("SomethingNew", "boom", 500, TransientError, "SomethingNew"),
        ("MessageRejected", "Email address is not verified.", 400, PermanentError, "MessageRejected"),
        (
            "MailFromDomainNotVerifiedException",
            "m",
            400,
            PermanentError,
            "MailFromDomainNotVerifiedException",
        ),
        ("ConfigurationSetDoesNotExist", "m", 400, PermanentError, "ConfigurationSetDoesNotExist"),
        ("TemplateDoesNotExist", "m", 400, PermanentError, "TemplateDoesNotExist"),
        ("InvalidParameterValue", "m", 400, PermanentError, "InvalidParameterValue"),
        ("AccessDenied", "not authorized to send from x", 403, PermanentError, "AccessDenied"),
        ("AccountSendingPausedException", "m", 400, SendingPaused, "AccountSendingPausedException"),
        (
            "ConfigurationSetSendingPausedException",
            "m",
            400,
            SendingPaused,
            "ConfigurationSetSendingPausedException",
        ),
    ],
)
def test_classification(code: str, message: str, status: int, kind: type, expected_code: str) -> None:
    classified = classify_send_error(ses_error(code, message, status))
    assert type(classified) is kind
    assert classified.code == expected_code  # type: ignore[attr-defined]
