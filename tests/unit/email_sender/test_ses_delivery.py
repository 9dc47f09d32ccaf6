"""Which SES failures go to the DLQ, which are retried, and which stop the batch; what a send sends."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from email_sender.email_request import parse_email_request
from email_sender.errors import SendingPaused
from email_sender.ses_delivery import classify_send_error, send_email
from email_sender.template_store import RenderedEmail
from groundskeeper.errors import PermanentError, TransientError


def ses_error(code: str, message: str = "m", status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendEmail")  # type: ignore[arg-type]


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


class _RecordingSES:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def send_email(self, **params: object) -> dict[str, str]:
        self.calls.append(params)
        return {"MessageId": "m-1"}


@pytest.mark.parametrize(
    ("text", "html", "body_parts"),
    [
        ("t", "<p>h</p>", {"Text", "Html"}),
        ("t", "", {"Text"}),
        ("", "<p>h</p>", {"Html"}),
        ("", "", {"Text"}),
    ],
)
def test_send_email_sends_the_rendered_parts_that_are_not_empty(
    text: str, html: str, body_parts: set[str]
) -> None:
    request = parse_email_request(
        json.dumps({"template": "t", "to": ["a@example.com"], "cc": ["c@example.com"], "data": {}}),
        "from@example.com",
    )
    ses = _RecordingSES()
    rendered = RenderedEmail("Subject <x>", text, html)
    assert send_email(ses, request, rendered, "gk-email") == "m-1"  # type: ignore[arg-type]
    [call] = ses.calls
    assert call["Source"] == "from@example.com"
    assert call["Destination"] == {"ToAddresses": ["a@example.com"], "CcAddresses": ["c@example.com"]}
    message = call["Message"]
    assert isinstance(message, dict)
    assert message["Subject"] == {"Data": "Subject <x>", "Charset": "UTF-8"}
    assert set(message["Body"]) == body_parts
