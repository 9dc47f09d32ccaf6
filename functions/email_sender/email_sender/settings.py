"""The email sender's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from groundskeeper.errors import SettingsError
from groundskeeper.settings import env_int, env_str

# SQS keeps a message at most 14 days; an idempotency record shorter than a minute protects nothing.
_MIN_TTL_SECONDS = 60
_MAX_TTL_SECONDS = 14 * 24 * 3600
# The event source delivers batches of at most 10 records (BatchSize), so more threads would sit idle.
MAX_SEND_CONCURRENCY = 10
# The event source mapping's MaximumConcurrency is at most 1000.
MAX_SEND_RATE_SHARE = 1000


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        sender = env_str("SENDER_EMAIL", environ=environ)
        if sender:
            # Imported here so that a settings-only import stays light; the sender needs it anyway.
            from email_sender.email_request import address_problem

            problem = address_problem(sender)
            if problem:
                raise SettingsError("SENDER_EMAIL", problem)
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
        )
