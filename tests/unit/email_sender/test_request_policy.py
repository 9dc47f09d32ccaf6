"""The From and template limits a producer meets, and their settings, checked at cold start."""

from __future__ import annotations

import pytest

from email_sender.email_request import EmailRequest
from email_sender.errors import INVALID_MESSAGE
from email_sender.request_policy import RequestPolicy
from email_sender.settings import Settings
from groundskeeper.errors import PermanentError, SettingsError

BASE_ENV = {
    "IDEMPOTENCY_TABLE": "t",
    "SES_CONFIGURATION_SET": "gk-email",
    "DEAD_LETTER_QUEUE_URL": "https://sqs/q",
    "SENDER_EMAIL": "alerts@example.com",
}


def request(template: str = "orders-shipped", sender: str = "alerts@example.com") -> EmailRequest:
    return EmailRequest(template=template, to=("a@example.com",), data={}, sender=sender)


POLICY = RequestPolicy(
    senders=frozenset({"alerts@example.com"}),
    templates=("orders-*", "receipt"),
    always_allowed=frozenset({"example-welcome"}),
)


@pytest.mark.parametrize("template", ["orders-shipped", "orders-", "receipt", "example-welcome"])
def test_allowed_templates(template: str) -> None:
    POLICY.check(request(template))


@pytest.mark.parametrize("template", ["receipts", "order-shipped", "Orders-shipped", "marketing"])
def test_refused_templates(template: str) -> None:
    with pytest.raises(PermanentError) as raised:
        POLICY.check(request(template))
    assert raised.value.code == INVALID_MESSAGE
    assert template in raised.value.message


def test_a_prefix_is_the_entry_less_only_its_star() -> None:
    """`orders-*` allows `orders-…` and nothing shorter: the star alone is cut, not the dash before it."""
    policy = RequestPolicy(senders=frozenset({"alerts@example.com"}), templates=("orders-*",))
    assert policy.template_allowed("orders-x")
    assert not policy.template_allowed("ordersx")
    assert not policy.template_allowed("orders")


def test_a_refused_template_names_the_allowlist() -> None:
    with pytest.raises(PermanentError) as raised:
        POLICY.check(request("marketing"))
    assert raised.value.message == "template marketing is not allowed (ALLOWED_TEMPLATES: orders-*, receipt)"


def test_a_refused_from_names_the_allowed_senders_sorted() -> None:
    policy = RequestPolicy(senders=frozenset({"ops@example.com", "billing@example.com"}))
    with pytest.raises(PermanentError) as raised:
        policy.check(request(sender="ceo@example.com"))
    assert raised.value.message == (
        '"from" ceo@example.com is not an allowed sender (allowed: billing@example.com, ops@example.com)'
    )


def test_no_allowlist_allows_any_template() -> None:
    RequestPolicy(senders=frozenset({"alerts@example.com"})).check(request("anything"))


@pytest.mark.parametrize("sender", ["ceo@example.com", "Alerts@example.com", "alerts@example.com.evil.test"])
def test_a_from_is_compared_exactly_as_iam_does(sender: str) -> None:
    with pytest.raises(PermanentError) as raised:
        POLICY.check(request(sender=sender))
    assert raised.value.code == INVALID_MESSAGE


def test_no_sender_configured_refuses_every_from() -> None:
    with pytest.raises(PermanentError) as raised:
        RequestPolicy(senders=frozenset()).check(request())
    assert raised.value.message == (
        '"from" alerts@example.com is not an allowed sender (allowed: none configured)'
    )


def test_settings_read_the_lists_and_the_receive_count() -> None:
    settings = Settings.from_env(
        {
            **BASE_ENV,
            "ALLOWED_SENDERS": "billing@example.com, ops@example.com",
            "ALLOWED_TEMPLATES": "orders-*,receipt",
            "MAX_RECEIVE_COUNT": "7",
        }
    )
    assert settings.allowed_senders == ("billing@example.com", "ops@example.com")
    assert settings.allowed_templates == ("orders-*", "receipt")
    assert settings.max_receive_count == 7


def test_settings_defaults() -> None:
    settings = Settings.from_env(BASE_ENV)
    assert (settings.allowed_senders, settings.allowed_templates, settings.max_receive_count) == ((), (), 5)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALLOWED_SENDERS", "not-an-address"),
        ("ALLOWED_SENDERS", "Billing <billing@example.com>"),
        ("ALLOWED_TEMPLATES", "orders/*"),
        ("ALLOWED_TEMPLATES", "or*ders"),
        ("ALLOWED_TEMPLATES", "x" * 65),
        ("MAX_RECEIVE_COUNT", "0"),
        ("MAX_RECEIVE_COUNT", "1001"),
        ("MAX_RECEIVE_COUNT", "five"),
    ],
)
def test_bad_settings_fail_at_cold_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**BASE_ENV, variable: value})
    assert raised.value.variable == variable
