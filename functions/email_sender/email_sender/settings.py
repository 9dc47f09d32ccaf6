"""The email sender's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from groundskeeper.errors import SettingsError
from groundskeeper.settings import Setting

# A template name (SES: letters, digits, _ and -, at most 64), optionally ending in * to allow a prefix.
# SES: a configuration set name is 1-64 ASCII letters, digits, underscores and dashes.
_CONFIGURATION_SET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TEMPLATE_ENTRY = re.compile(r"[A-Za-z0-9_-]{1,64}\*?|[A-Za-z0-9_-]{0,63}\*")

SENDER_EMAIL = Setting(
    "SENDER_EMAIL",
    "",
    "the verified SES identity every email is sent from when a request has no `from`; IAM allows no other "
    "From address. Checked for syntax at cold start",
    parameter="SenderEmail",
)
IDEMPOTENCY_TABLE = Setting(
    "IDEMPOTENCY_TABLE", "", "the Powertools idempotency table (the stack's IdempotencyTable)", required=True
)
DEAD_LETTER_QUEUE_URL = Setting(
    "DEAD_LETTER_QUEUE_URL",
    "",
    "where permanent failures go, with their reason (the stack's EmailDeadLetterQueue)",
    required=True,
)
TEMPLATE_CACHE_SECONDS = Setting(
    "TEMPLATE_CACHE_SECONDS",
    300,
    "how long a warm sender trusts a fetched SES template before fetching it again; 0 = fetch every time",
    parameter="TemplateCacheSeconds",
    minimum=0,
)
# Default = SQS's default retention (4 days): a redelivery is recognised for as long as it can happen. SQS
# keeps a message at most 14 days; an idempotency record shorter than a minute protects nothing.
IDEMPOTENCY_TTL_SECONDS = Setting(
    "IDEMPOTENCY_TTL_SECONDS",
    345_600,
    "how long the email queue keeps a message, and so how long an idempotency record lives: a late "
    "redelivery is still recognised as a duplicate",
    parameter="EmailRetentionSeconds",
    minimum=60,
    maximum=14 * 24 * 3600,
)
# The event source delivers batches of at most 10 records (BatchSize), so more threads would sit idle.
SEND_CONCURRENCY = Setting(
    "SEND_CONCURRENCY",
    10,
    "records of one batch sent at once (1 = one after another); together with `SenderMaxConcurrency` it "
    "multiplies the peak SES send rate",
    parameter="SenderBatchConcurrency",
    minimum=1,
    maximum=10,
)
# 1 outside the stack (tests, local runs: one sender alone). The template's parameter is also the event
# source's MaximumConcurrency, whose floor is 2, so a deployed stack starts at 2. At most 1000, as that is.
SEND_RATE_SHARE = Setting(
    "SEND_RATE_SHARE",
    1,
    "how many senders may run at once (the email queue's event source `MaximumConcurrency`, set by the same "
    "parameter): each paces its sends to the account's SES MaxSendRate divided by this",
    parameter="SenderMaxConcurrency",
    minimum=1,
    maximum=1000,
)
# SQS's own bounds on a redrive policy's maxReceiveCount.
MAX_RECEIVE_COUNT = Setting(
    "MAX_RECEIVE_COUNT",
    5,
    "deliveries of an email request before it goes to the DLQ (the queue's `maxReceiveCount`, set by the "
    "same parameter): on the last one the sender dead-letters a still-failing request itself, with its "
    "reason",
    parameter="EmailMaxReceiveCount",
    minimum=1,
    maximum=1000,
)
ALLOWED_SENDERS = Setting(
    "ALLOWED_SENDERS",
    (),
    "comma-separated From addresses a request may use besides `SENDER_EMAIL` (checked for syntax at cold "
    "start); IAM's `ses:FromAddress` condition lists the same. Empty = `SENDER_EMAIL` only",
    parameter="AllowedSenders",
)
ALLOWED_TEMPLATES = Setting(
    "ALLOWED_TEMPLATES",
    (),
    "comma-separated SES templates producers may send, by name or by prefix ending in `*` (`orders-*`); "
    "empty = any. The bundled templates are always allowed",
    parameter="AllowedTemplates",
)
SES_CONFIGURATION_SET = Setting(
    "SES_CONFIGURATION_SET",
    "",
    "the SES configuration set every send names, so bounces, complaints and rejects reach CloudWatch (the "
    "stack's EmailConfigurationSet); required: IAM cannot make a send name it",
    required=True,
)
EMAIL_QUEUE_URL = Setting(
    "EMAIL_QUEUE_URL",
    "",
    "the queue the sender reads (the stack's EmailQueue): a request that must not use up a receive (sending "
    "paused, or a refused send whose mark stayed) is put back on it as a new message; empty = returned to "
    "SQS instead",
)
# The pause checker's own (a function of its own: EmailPauseCheckerFunction).
EMAIL_MAPPING_UUID = Setting(
    "EMAIL_MAPPING_UUID",
    "",
    "the pause checker's: the UUID of the event source mapping that feeds the sender from the email queue "
    "(the stack's EmailRequestsMapping), stopped while SES sending is paused and resumed after",
    required=True,
)
SPECS = (
    SENDER_EMAIL,
    IDEMPOTENCY_TABLE,
    DEAD_LETTER_QUEUE_URL,
    TEMPLATE_CACHE_SECONDS,
    IDEMPOTENCY_TTL_SECONDS,
    SEND_CONCURRENCY,
    SEND_RATE_SHARE,
    MAX_RECEIVE_COUNT,
    ALLOWED_SENDERS,
    ALLOWED_TEMPLATES,
    SES_CONFIGURATION_SET,
    EMAIL_QUEUE_URL,
    EMAIL_MAPPING_UUID,
)


@dataclass(frozen=True)
class Settings:
    sender_email: str
    idempotency_table: str
    dead_letter_queue_url: str
    template_cache_seconds: int = TEMPLATE_CACHE_SECONDS.default
    idempotency_ttl_seconds: int = IDEMPOTENCY_TTL_SECONDS.default
    send_concurrency: int = SEND_CONCURRENCY.default
    # Each container paces its sends to the account's SES MaxSendRate divided by this.
    send_rate_share: int = SEND_RATE_SHARE.default
    # On that receive a record that would be retried is dead-lettered by the sender, with its reason,
    # instead of being moved there reasonless by the queue's redrive.
    max_receive_count: int = MAX_RECEIVE_COUNT.default
    # IAM must allow them too: the template does.
    allowed_senders: tuple[str, ...] = ALLOWED_SENDERS.default
    allowed_templates: tuple[str, ...] = ALLOWED_TEMPLATES.default
    # Required at cold start (from_env); "" only where a test builds the settings itself.
    ses_configuration_set: str = SES_CONFIGURATION_SET.default
    # "" = none: paused and refused-after-mark records go back to SQS, as batchItemFailures.
    email_queue_url: str = EMAIL_QUEUE_URL.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        # Imported here so that a settings-only import stays light; the sender needs it anyway.
        from email_sender.email_request import address_problem

        sender = SENDER_EMAIL.read(environ)
        if sender:
            problem = address_problem(sender)
            if problem:
                raise SettingsError(SENDER_EMAIL.env, problem)
        allowed_senders = ALLOWED_SENDERS.read(environ)
        for address in allowed_senders:
            problem = address_problem(address)
            if problem:
                raise SettingsError(ALLOWED_SENDERS.env, f"{address}: {problem}")
        allowed_templates = ALLOWED_TEMPLATES.read(environ)
        for entry in allowed_templates:
            if not _TEMPLATE_ENTRY.fullmatch(entry):
                raise SettingsError(
                    ALLOWED_TEMPLATES.env, f"{entry!r} is not a template name or a name prefix ending in *"
                )
        return cls(
            sender_email=sender,
            idempotency_table=IDEMPOTENCY_TABLE.read(environ),
            dead_letter_queue_url=DEAD_LETTER_QUEUE_URL.read(environ),
            template_cache_seconds=TEMPLATE_CACHE_SECONDS.read(environ),
            idempotency_ttl_seconds=IDEMPOTENCY_TTL_SECONDS.read(environ),
            send_concurrency=SEND_CONCURRENCY.read(environ),
            send_rate_share=SEND_RATE_SHARE.read(environ),
            max_receive_count=MAX_RECEIVE_COUNT.read(environ),
            allowed_senders=allowed_senders,
            allowed_templates=allowed_templates,
            ses_configuration_set=_configuration_set(environ),
            email_queue_url=EMAIL_QUEUE_URL.read(environ),
        )


def _configuration_set(environ: Mapping[str, str]) -> str:
    name = SES_CONFIGURATION_SET.read(environ)
    if name and not _CONFIGURATION_SET_NAME.fullmatch(name):
        raise SettingsError(
            SES_CONFIGURATION_SET.env,
            f"{name!r} is not a configuration set name (letters, digits, _ and -, 1-64)",
        )
    return name


@dataclass(frozen=True)
class PauseCheckerSettings:
    """The pause checker's settings: the mapping it switches, and the configuration set whose pause counts."""

    mapping_uuid: str
    ses_configuration_set: str = SES_CONFIGURATION_SET.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> PauseCheckerSettings:
        return cls(
            mapping_uuid=EMAIL_MAPPING_UUID.read(environ), ses_configuration_set=_configuration_set(environ)
        )
