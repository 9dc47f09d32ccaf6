"""The auditor's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cors_auditor.allowlist_tag import DEFAULT_TAG_KEY, origin_problem
from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier
from groundskeeper.settings import env_csv, env_int, env_str
from groundskeeper_org.accounts import OrgSettings

SEVERITY_CHOICES = ("LOW", "MEDIUM", "HIGH")
TAG_OFF = "-"
MAX_TAG_KEY_CHARS = 128


def _check_origin(origin: str) -> None:
    # The same check as a bucket's allowlist tag: a wildcard would turn the allowlist into "anything goes".
    if origin_problem(origin) is not None:
        raise SettingsError(
            "ALLOWED_ORIGINS", f"{origin!r} is not an exact origin like https://app.example.com"
        )


def _tag_key(environ: Mapping[str, str]) -> str:
    # Set to "-" to ignore bucket tags (and make no GetBucketTagging call).
    key = env_str("ALLOWLIST_TAG_KEY", DEFAULT_TAG_KEY, environ=environ) or DEFAULT_TAG_KEY
    if key == TAG_OFF:
        return ""
    if len(key) > MAX_TAG_KEY_CHARS or key.lower().startswith("aws:"):
        raise SettingsError("ALLOWLIST_TAG_KEY", f"is not a usable S3 tag key: {key!r}")
    return key


@dataclass(frozen=True)
class Settings:
    allowed_origins: tuple[str, ...] = ()
    remediation: str = "off"
    audit_cache_seconds: int = 300
    notify: Notifier = field(default_factory=Notifier)
    notify_min_severity: str = "MEDIUM"
    # How many buckets a sweep audits at once: enough to hide round trips, few enough not to be throttled.
    sweep_concurrency: int = 8
    # The bucket tag that holds a bucket's own allowlist; "" = bucket tags are not read.
    allowlist_tag_key: str = DEFAULT_TAG_KEY
    # MEMBER_ACCOUNTS and its companions: off = this account only; on = a schedule plans, the queue sweeps.
    org: OrgSettings = field(default_factory=OrgSettings)

    @property
    def remediate(self) -> bool:
        return self.remediation == "fix"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        origins = env_csv("ALLOWED_ORIGINS", environ=environ)
        for origin in origins:
            _check_origin(origin)
        return cls(
            allowed_origins=origins,
            remediation=env_str("REMEDIATION", "off", choices=("off", "fix"), environ=environ),
            audit_cache_seconds=env_int("AUDIT_CACHE_SECONDS", 300, minimum=0, environ=environ),
            notify=Notifier.from_env(environ),
            org=OrgSettings.from_env(environ),
            notify_min_severity=env_str(
                "NOTIFY_MIN_SEVERITY", "MEDIUM", choices=SEVERITY_CHOICES, environ=environ
            ),
            sweep_concurrency=env_int("SWEEP_CONCURRENCY", 8, minimum=1, maximum=64, environ=environ),
            allowlist_tag_key=_tag_key(environ),
        )
