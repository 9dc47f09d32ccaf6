"""`make email-event`: a request body, quotes and all, becomes the SQS event the sender parses."""

from __future__ import annotations

import hashlib
import json

import pytest

from email_sender.email_request import parse_email_request
from scripts.email_event import email_event

BODY = json.dumps(
    {"template": "example-welcome", "to": ["a@example.com"], "data": {"name": 'Ada "A" <b>', "product": "GK"}}
)


def test_the_body_is_escaped_into_the_record_and_parses() -> None:
    (record,) = email_event(BODY)["Records"]  # type: ignore[index]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
    request = parse_email_request(record["body"], default_sender="gk@example.com")
    assert request.data["name"] == 'Ada "A" <b>'
    assert json.loads(json.dumps(email_event(BODY)))["Records"][0]["eventSource"] == "aws:sqs"


@pytest.mark.parametrize("body", ["{not json", '["a list"]'])
def test_a_body_that_is_no_request_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="BODY"):
        email_event(body)
