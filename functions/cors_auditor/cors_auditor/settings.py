"""The auditor's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier
from groundskeeper.settings import env_csv, env_int, env_str

SEVERITY_CHOICES = ("LOW", "MEDIUM", "HIGH")


def _check_origin(origin: str) -> None:
    # An allowlist entry is what a browser sends in the Origin header: scheme://host[:port], nothing more.
    # A wildcard here would silently turn the allowlist rule into "anything goes".
    scheme, sep, host = origin.partition("://")
    if not sep or not scheme or not host or "/" in host or "*" in origin:
        raise SettingsError(
            "ALLOWED_ORIGINS", f"{origin!r} is not an exact origin like https://app.example.com"
        )


@dataclass(frozen=True)
class Settings:
    allowed_origins: tuple[str, ...] = ()
    remediation: str = "off"
    audit_cache_seconds: int = 300
    notify: Notifier = field(default_factory=Notifier)
    notify_min_severity: str = "MEDIUM"
    # How many buckets a sweep audits at once: enough to hide round trips, few enough not to be throttled.
    sweep_concurrency: int = 8

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
            notify_min_severity=env_str(
                "NOTIFY_MIN_SEVERITY", "MEDIUM", choices=SEVERITY_CHOICES, environ=environ
            ),
            sweep_concurrency=env_int("SWEEP_CONCURRENCY", 8, minimum=1, maximum=64, environ=environ),
        )
