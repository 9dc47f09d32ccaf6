"""The janitor's settings, read once from the environment at cold start and validated there."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from groundskeeper.errors import SettingsError
from groundskeeper.settings import env_bool, env_csv, env_int, env_str

ALL_REGIONS = "all"
MAX_GRACE = 24 * 3650  # ten years: anything longer is a typo
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# EC2 refuses tag keys with this prefix, so such a setting could never work.
_RESERVED_TAG_PREFIX = "aws:"


@dataclass(frozen=True)
class Settings:
    dry_run: bool = True
    grace_period_hours: int = 168
    exempt_tag_key: str = "groundskeeper:keep"
    idle_tag_key: str = "groundskeeper:idle-since"
    # () = the function's own region; ("all",) = every enabled region; else region names.
    regions: tuple[str, ...] = ()
    max_releases_per_run: int = 10
    notify_queue_url: str = ""
    notify_email: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        exempt = _tag_key("EXEMPT_TAG_KEY", "groundskeeper:keep", environ)
        idle = _tag_key("IDLE_TAG_KEY", "groundskeeper:idle-since", environ)
        if exempt == idle:
            raise SettingsError("IDLE_TAG_KEY", f"must differ from EXEMPT_TAG_KEY; both are {idle!r}")
        grace = env_int("GRACE_PERIOD_HOURS", 168, minimum=0, maximum=MAX_GRACE, environ=environ)
        return cls(
            dry_run=env_bool("DRY_RUN", True, environ=environ),
            grace_period_hours=grace,
            exempt_tag_key=exempt,
            idle_tag_key=idle,
            regions=_regions(environ),
            max_releases_per_run=env_int("MAX_RELEASES_PER_RUN", 10, minimum=0, environ=environ),
            notify_queue_url=env_str("NOTIFY_QUEUE_URL", "", environ=environ),
            notify_email=env_csv("NOTIFY_EMAIL", environ=environ),
        )

    @property
    def notifies(self) -> bool:
        return bool(self.notify_queue_url and self.notify_email)


def _tag_key(name: str, default: str, environ: Mapping[str, str]) -> str:
    key = env_str(name, default, environ=environ) or default
    if key.lower().startswith(_RESERVED_TAG_PREFIX) or len(key) > 128:
        raise SettingsError(name, f"is not a usable EC2 tag key: {key!r}")
    return key


def _regions(environ: Mapping[str, str]) -> tuple[str, ...]:
    names = env_csv("JANITOR_REGIONS", environ=environ)
    if [name.lower() for name in names] == [ALL_REGIONS]:
        return (ALL_REGIONS,)
    for name in names:
        if not _REGION_NAME.match(name):
            raise SettingsError("JANITOR_REGIONS", f"'all', or region names like us-east-1; got {name!r}")
    return tuple(dict.fromkeys(names))  # drop duplicates, keep order
