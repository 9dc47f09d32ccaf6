"""The email sender's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from groundskeeper.errors import SettingsError
from groundskeeper.settings import env_csv, env_int, env_str

# SQS keeps a message at most 14 days; an idempotency record shorter than a minute protects nothing.
_MIN_TTL_SECONDS = 60
_MAX_TTL_SECONDS = 14 * 24 * 3600
# The event source delivers batches of at most 10 records (BatchSize), so more threads would sit idle.
MAX_SEND_CONCURRENCY = 10
# The event source mapping's MaximumConcurrency is at most 1000.
MAX_SEND_RATE_SHARE = 1000
# SQS's own bounds on a redrive policy's maxReceiveCount.
MAX_RECEIVE_COUNT = 1000
# A template name (SES: letters, digits, _ and -, at most 64), optionally ending in * to allow a prefix.
# SES: a configuration set name is 1-64 ASCII letters, digits, underscores and dashes.
_CONFIGURATION_SET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TEMPLATE_ENTRY = re.compile(r"[A-Za-z0-9_-]{1,64}\*?|[A-Za-z0-9_-]{0,63}\*")


@dataclass(frozen=True)
class Settings:
    sender_email: str
    idempotency_table: str
    dead_letter_queue_url: str
    template_cache_seconds: int = 300
    # Default = SQS's default retention (4 days): a redelivery is recognised for as long as it can happen.
    idempotency_ttl_seconds: int = 345_600
    # Records of one batch delivered at once; 1 = one after another. Multiplies the SES send rate.
    send_concurrency: int = MAX_SEND_CONCURRENCY
    # How many senders may run at once (the event source's maximum concurrency): each container paces its
    # sends to the account's SES MaxSendRate divided by this.
    send_rate_share: int = 1
    # The email queue's maxReceiveCount: on that receive a record that would be retried is dead-lettered by
    # the sender, with its reason, instead of being moved there reasonless by the queue's redrive.
    max_receive_count: int = 5
    # From addresses allowed besides sender_email (IAM must allow them too: the template does).
    allowed_senders: tuple[str, ...] = ()
    # Templates producers may send, by name or "prefix*"; empty = any. The bundled ones are always allowed.
    allowed_templates: tuple[str, ...] = ()
    # The SES configuration set every send names (bounce, complaint, reject events); "" = none (tests, local).
    ses_configuration_set: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        # Imported here so that a settings-only import stays light; the sender needs it anyway.
        from email_sender.email_request import address_problem

        sender = env_str("SENDER_EMAIL", environ=environ)
        if sender:
            problem = address_problem(sender)
            if problem:
                raise SettingsError("SENDER_EMAIL", problem)
        allowed_senders = env_csv("ALLOWED_SENDERS", environ=environ)
        for address in allowed_senders:
            problem = address_problem(address)
            if problem:
                raise SettingsError("ALLOWED_SENDERS", f"{address}: {problem}")
        allowed_templates = env_csv("ALLOWED_TEMPLATES", environ=environ)
        for entry in allowed_templates:
            if not _TEMPLATE_ENTRY.fullmatch(entry):
                raise SettingsError(
                    "ALLOWED_TEMPLATES", f"{entry!r} is not a template name or a name prefix ending in *"
                )
        return cls(
            sender_email=sender,
            idempotency_table=env_str("IDEMPOTENCY_TABLE", required=True, environ=environ),
            dead_letter_queue_url=env_str("DEAD_LETTER_QUEUE_URL", required=True, environ=environ),
            template_cache_seconds=env_int("TEMPLATE_CACHE_SECONDS", 300, minimum=0, environ=environ),
            idempotency_ttl_seconds=env_int(
                "IDEMPOTENCY_TTL_SECONDS",
                345_600,
                minimum=_MIN_TTL_SECONDS,
                maximum=_MAX_TTL_SECONDS,
                environ=environ,
            ),
            send_concurrency=env_int(
                "SEND_CONCURRENCY",
                MAX_SEND_CONCURRENCY,
                minimum=1,
                maximum=MAX_SEND_CONCURRENCY,
                environ=environ,
            ),
            send_rate_share=env_int(
                "SEND_RATE_SHARE", 1, minimum=1, maximum=MAX_SEND_RATE_SHARE, environ=environ
            ),
            max_receive_count=env_int(
                "MAX_RECEIVE_COUNT", 5, minimum=1, maximum=MAX_RECEIVE_COUNT, environ=environ
            ),
            allowed_senders=allowed_senders,
            allowed_templates=allowed_templates,
            ses_configuration_set=_configuration_set(environ),
        )


def _configuration_set(environ: Mapping[str, str]) -> str:
    name = env_str("SES_CONFIGURATION_SET", environ=environ)
    if name and not _CONFIGURATION_SET_NAME.fullmatch(name):
        raise SettingsError(
            "SES_CONFIGURATION_SET",
            f"{name!r} is not a configuration set name (letters, digits, _ and -, 1-64)",
        )
    return name
