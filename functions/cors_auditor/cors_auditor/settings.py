"""The auditor's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cors_auditor.allowlist_tag import DEFAULT_TAG_KEY, origin_problem
from groundskeeper.action_journal import ACTION_JOURNAL_TABLE
from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier
from groundskeeper.settings import Setting

TAG_OFF = "-"
MAX_TAG_KEY_CHARS = 128

ALLOWED_ORIGINS = Setting(
    "ALLOWED_ORIGINS",
    (),
    "comma-separated exact CORS origins (`scheme://host[:port]`, no `*`, no path); empty = no allowlist rule",
    parameter="AllowedOrigins",
)
REMEDIATION = Setting(
    "REMEDIATION",
    "off",
    "`fix` rewrites offending origins (and only then grants s3:PutBucketCORS)",
    parameter="CorsRemediation",
    choices=("off", "fix"),
)
AUDIT_CACHE_SECONDS = Setting(
    "AUDIT_CACHE_SECONDS",
    300,
    "how long a warm auditor trusts a bucket's verdict during an upload burst; 0 = no cache",
    parameter="AuditCacheSeconds",
    minimum=0,
)
NOTIFY_MIN_SEVERITY = Setting(
    "NOTIFY_MIN_SEVERITY",
    "MEDIUM",
    "the lowest bucket severity that sends an email",
    parameter="NotifyMinSeverity",
    choices=("LOW", "MEDIUM", "HIGH"),
)
# Enough to hide round trips, few enough not to be throttled.
SWEEP_CONCURRENCY = Setting(
    "SWEEP_CONCURRENCY",
    8,
    "buckets audited at once in a sweep or a multi-bucket event",
    minimum=1,
    maximum=64,
)
ALLOWLIST_TAG_KEY = Setting(
    "ALLOWLIST_TAG_KEY",
    DEFAULT_TAG_KEY,
    "the bucket tag whose space-separated origins add to (value starting with `+`) or replace the allowlist "
    f"for its bucket; `{TAG_OFF}` = bucket tags are not read",
    parameter="CorsAllowlistTag",
)
SPECS = (
    ALLOWED_ORIGINS,
    REMEDIATION,
    AUDIT_CACHE_SECONDS,
    NOTIFY_MIN_SEVERITY,
    SWEEP_CONCURRENCY,
    ALLOWLIST_TAG_KEY,
)


def _check_origin(origin: str) -> None:
    # The same check as a bucket's allowlist tag: a wildcard would turn the allowlist into "anything goes".
    if origin_problem(origin) is not None:
        raise SettingsError(
            ALLOWED_ORIGINS.env, f"{origin!r} is not an exact origin like https://app.example.com"
        )


def _tag_key(environ: Mapping[str, str]) -> str:
    key = ALLOWLIST_TAG_KEY.read(environ)
    if key == TAG_OFF:
        return ""
    if len(key) > MAX_TAG_KEY_CHARS or key.lower().startswith("aws:"):
        raise SettingsError(ALLOWLIST_TAG_KEY.env, f"is not a usable S3 tag key: {key!r}")
    return key


@dataclass(frozen=True)
class Settings:
    allowed_origins: tuple[str, ...] = ALLOWED_ORIGINS.default
    remediation: str = REMEDIATION.default
    audit_cache_seconds: int = AUDIT_CACHE_SECONDS.default
    notify: Notifier = field(default_factory=Notifier)
    notify_min_severity: str = NOTIFY_MIN_SEVERITY.default
    sweep_concurrency: int = SWEEP_CONCURRENCY.default
    # "" = bucket tags are not read.
    allowlist_tag_key: str = ALLOWLIST_TAG_KEY.default
    # "" = no journal: rewrites are made without a record, and a retry cannot report an earlier one.
    journal_table: str = ACTION_JOURNAL_TABLE.default

    @property
    def remediate(self) -> bool:
        return self.remediation == "fix"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        origins = ALLOWED_ORIGINS.read(environ)
        for origin in origins:
            _check_origin(origin)
        return cls(
            allowed_origins=origins,
            remediation=REMEDIATION.read(environ),
            audit_cache_seconds=AUDIT_CACHE_SECONDS.read(environ),
            notify=Notifier.from_env(environ),
            notify_min_severity=NOTIFY_MIN_SEVERITY.read(environ),
            sweep_concurrency=SWEEP_CONCURRENCY.read(environ),
            allowlist_tag_key=_tag_key(environ),
            journal_table=ACTION_JOURNAL_TABLE.read(environ),
        )
