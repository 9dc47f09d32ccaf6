"""Every send names the stack's SES configuration set, so its bounces and complaints reach CloudWatch."""

from __future__ import annotations

import json

import pytest

from email_sender.email_request import parse_email_request
from email_sender.ses_delivery import send_email
from email_sender.settings import Settings
from email_sender.template_store import RenderedEmail
from groundskeeper.errors import SettingsError

BASE_ENV = {"IDEMPOTENCY_TABLE": "t", "DEAD_LETTER_QUEUE_URL": "https://sqs.example/dlq"}


class _RecordingSES:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def send_email(self, **params: object) -> dict[str, str]:
        self.calls.append(params)
        return {"MessageId": "m-1"}


def _request() -> object:
    body = json.dumps({"template": "t", "to": ["a@example.com"], "data": {}})
    return parse_email_request(body, "from@example.com")


def test_the_send_names_the_configuration_set() -> None:
    ses = _RecordingSES()
    send_email(ses, _request(), RenderedEmail("s", "t", ""), "groundskeeper-email")  # type: ignore[arg-type]
    assert ses.calls[0]["ConfigurationSetName"] == "groundskeeper-email"


def test_only_the_cli_may_send_without_a_set() -> None:
    """The CLI's direct send, with the operator's credentials, passes "" when SES_CONFIGURATION_SET is unset;
    the argument itself has no default, so no caller leaves it out by accident."""
    ses = _RecordingSES()
    send_email(ses, _request(), RenderedEmail("s", "t", ""), "")  # type: ignore[arg-type]
    assert "ConfigurationSetName" not in ses.calls[0]
    with pytest.raises(TypeError):
        send_email(ses, _request(), RenderedEmail("s", "t", ""))  # type: ignore[arg-type,call-arg]


def test_the_setting_is_read_and_checked_at_cold_start() -> None:
    assert Settings.from_env({**BASE_ENV, "SES_CONFIGURATION_SET": "gk-dev_email"}).ses_configuration_set == (
        "gk-dev_email"
    )
    # IAM cannot make a send name the set (docs/security.md), so the sender refuses to start without one.
    with pytest.raises(SettingsError, match="SES_CONFIGURATION_SET"):
        Settings.from_env(BASE_ENV)
    with pytest.raises(SettingsError, match="SES_CONFIGURATION_SET"):
        Settings.from_env({**BASE_ENV, "SES_CONFIGURATION_SET": "no spaces allowed"})
