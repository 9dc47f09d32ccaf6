"""Puts an email request on the email queue: how the auditor and the janitor report through the sender.

The message body is the email sender's contract:
{"template", "to": [...], "data": {...}, optional "cc", "bcc", "from", "reply_to", "idempotency_key"}.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from groundskeeper.settings import Setting

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


NOTIFY_QUEUE_URL = Setting(
    "NOTIFY_QUEUE_URL",
    "",
    "the email queue the auditor's and the janitor's reports go to (the stack's EmailQueue)",
)
NOTIFY_EMAIL = Setting(
    "NOTIFY_EMAIL",
    (),
    "who gets the auditor's and the janitor's reports, comma-separated; empty = no reports",
    parameter="NotifyEmail",
)
SPECS = (NOTIFY_QUEUE_URL, NOTIFY_EMAIL)


@dataclass(frozen=True)
class Notifier:
    """Where a function's emails go (NOTIFY_QUEUE_URL) and to whom (NOTIFY_EMAIL); off unless both are set."""

    queue_url: str = NOTIFY_QUEUE_URL.default
    recipients: tuple[str, ...] = NOTIFY_EMAIL.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(queue_url=NOTIFY_QUEUE_URL.read(environ), recipients=NOTIFY_EMAIL.read(environ))

    @property
    def enabled(self) -> bool:
        return bool(self.queue_url and self.recipients)

    def send(self, sqs: SQSClient, template: str, data: Mapping[str, Any], *, idempotency_key: str) -> str:
        """Queue one email request for the recipients and return the SQS message id.

        The key travels to the sender, whose idempotency store drops a second request with the same key."""
        request = email_request(template, self.recipients, data, idempotency_key=idempotency_key)
        return send_email_request(sqs, self.queue_url, request)


def email_request(
    template: str,
    to: Sequence[str],
    data: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    sender: str | None = None,
    reply_to: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Build one email request; optional fields are left out rather than sent empty."""
    if not to:
        raise ValueError("an email request needs at least one recipient")
    request: dict[str, Any] = {"template": template, "to": list(to), "data": dict(data)}
    if sender:
        request["from"] = sender
    if reply_to:
        request["reply_to"] = list(reply_to)
    if idempotency_key:
        request["idempotency_key"] = idempotency_key
    return request


def send_email_request(sqs: SQSClient, queue_url: str, request: Mapping[str, Any]) -> str:
    """Queue the request for the email sender and return the SQS message id."""
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(request, separators=(",", ":"), sort_keys=True, default=str),
    )
    return response["MessageId"]
