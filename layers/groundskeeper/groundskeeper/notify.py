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

from groundskeeper.settings import env_csv, env_str

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class Notifier:
    """Where a function's emails go (NOTIFY_QUEUE_URL) and to whom (NOTIFY_EMAIL); off unless both are set."""

    queue_url: str = ""
    recipients: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(
            queue_url=env_str("NOTIFY_QUEUE_URL", "", environ=environ),
            recipients=env_csv("NOTIFY_EMAIL", environ=environ),
        )

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
