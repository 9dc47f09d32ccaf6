"""How the sender groups a batch's records: by the idempotency key a record will most likely use."""

from __future__ import annotations

import json
from typing import Any

import pytest

from email_sender.sender import likely_idempotency_key


def record(message_id: str, body: str | dict[str, Any]) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"idempotency_key": "k1", "to": ["a@b.c"]}, "k1"),
        ({"to": ["a@b.c"]}, "mid"),
        ({"idempotency_key": ""}, "mid"),
        ({"idempotency_key": 7}, "mid"),
        ('["idempotency_key"]', "mid"),
        ("{not json", "mid"),
        ("[" * 100_000, "mid"),  # too deep for the json module
        ("", "mid"),
    ],
)
def test_likely_idempotency_key(body: str | dict[str, Any], expected: str) -> None:
    assert likely_idempotency_key(record("mid", body)) == expected
