"""The sender's settings fail at cold start, naming the variable."""

from __future__ import annotations

import pytest

from email_sender.settings import Settings
from groundskeeper.errors import SettingsError

BASE = {
    "IDEMPOTENCY_TABLE": "t",
    "DEAD_LETTER_QUEUE_URL": "https://sqs/q",
    "SES_CONFIGURATION_SET": "gk-email",
}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings == Settings(
        sender_email="",
        idempotency_table="t",
        dead_letter_queue_url="https://sqs/q",
        ses_configuration_set="gk-email",
    )
    assert (settings.template_cache_seconds, settings.idempotency_ttl_seconds) == (300, 345_600)


def test_all_values() -> None:
    environ = {
        **BASE,
        "SENDER_EMAIL": "alerts@example.com",
        "TEMPLATE_CACHE_SECONDS": "0",
        "IDEMPOTENCY_TTL_SECONDS": "1209600",
    }
    settings = Settings.from_env(environ)
    assert settings.sender_email == "alerts@example.com"
    assert (settings.template_cache_seconds, settings.idempotency_ttl_seconds) == (0, 1_209_600)


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"IDEMPOTENCY_TABLE": ""}, "IDEMPOTENCY_TABLE"),
        ({"DEAD_LETTER_QUEUE_URL": " "}, "DEAD_LETTER_QUEUE_URL"),
        ({"SES_CONFIGURATION_SET": ""}, "SES_CONFIGURATION_SET"),
        ({"SENDER_EMAIL": "Alerts <alerts@example.com>"}, "SENDER_EMAIL"),
        ({"TEMPLATE_CACHE_SECONDS": "-1"}, "TEMPLATE_CACHE_SECONDS"),
        ({"TEMPLATE_CACHE_SECONDS": "five"}, "TEMPLATE_CACHE_SECONDS"),
        ({"IDEMPOTENCY_TTL_SECONDS": "30"}, "IDEMPOTENCY_TTL_SECONDS"),
    ],
)
def test_bad_values_name_the_variable(override: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, **override})
    assert caught.value.variable == variable


def test_send_concurrency() -> None:
    assert Settings.from_env(BASE).send_concurrency == 10
    assert Settings.from_env({**BASE, "SEND_CONCURRENCY": "1"}).send_concurrency == 1


@pytest.mark.parametrize("value", ["0", "11", "-3", "ten", "2.5"])
def test_bad_send_concurrency_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, "SEND_CONCURRENCY": value})
    assert caught.value.variable == "SEND_CONCURRENCY"


def test_send_rate_share() -> None:
    assert Settings.from_env(BASE).send_rate_share == 1
    assert Settings.from_env({**BASE, "SEND_RATE_SHARE": "2"}).send_rate_share == 2
    assert Settings.from_env({**BASE, "SEND_RATE_SHARE": "1000"}).send_rate_share == 1000


@pytest.mark.parametrize("value", ["0", "1001", "two"])
def test_bad_send_rate_share_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, "SEND_RATE_SHARE": value})
    assert caught.value.variable == "SEND_RATE_SHARE"
