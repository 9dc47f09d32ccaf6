"""The email request builder leaves optional fields out instead of sending them empty."""

from __future__ import annotations

import pytest

from groundskeeper.notify import email_request


def test_minimal_request_has_only_the_required_fields() -> None:
    assert email_request("cors-finding", ["ops@example.com"], {"bucket": "b"}) == {
        "template": "cors-finding",
        "to": ["ops@example.com"],
        "data": {"bucket": "b"},
    }


def test_optional_fields_are_included_when_given() -> None:
    request = email_request(
        "eip-janitor-report",
        ("ops@example.com",),
        {},
        idempotency_key="eip:run-1",
        sender="alerts@example.com",
        reply_to=["team@example.com"],
    )
    assert request["idempotency_key"] == "eip:run-1"
    assert request["from"] == "alerts@example.com"
    assert request["reply_to"] == ["team@example.com"]


def test_a_request_without_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        email_request("cors-finding", [], {})
