"""The janitor's settings, read once from the environment at cold start, and what JANITOR_REGIONS means."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from groundskeeper.action_journal import ACTION_JOURNAL_TABLE
from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier
from groundskeeper.settings import Setting, env_str

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

ALL_REGIONS = "all"
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# EC2 refuses tag keys with this prefix, so such a setting could never work.
_RESERVED_TAG_PREFIX = "aws:"
_MAX_TAG_KEY_CHARS = 128

DRY_RUN = Setting(
    "DRY_RUN",
    True,
    "report what the janitor would do and change nothing; `false` marks and releases",
    parameter="JanitorDryRun",
)
GRACE_PERIOD_HOURS = Setting(
    "GRACE_PERIOD_HOURS",
    168,
    "how long an address stays marked idle before it is released; 0 releases idle addresses at once",
    parameter="GracePeriodHours",
    minimum=0,
    maximum=24 * 3650,  # ten years: anything longer is a typo
)
EXEMPT_TAG_KEY = Setting(
    "EXEMPT_TAG_KEY",
    "groundskeeper:keep",
    "addresses carrying this tag key (any value) are never touched",
    parameter="ExemptTagKey",
)
IDLE_TAG_KEY = Setting(
    "IDLE_TAG_KEY",
    "groundskeeper:idle-since",
    "the tag recording when the janitor first saw an address idle (the only tag it writes)",
    parameter="IdleTagKey",
)
JANITOR_REGIONS = Setting(
    "JANITOR_REGIONS",
    (),
    "empty = the function's own region; `all` = every enabled region; or a comma-separated list of regions",
    parameter="JanitorRegions",
)
MAX_RELEASES_PER_RUN = Setting(
    "MAX_RELEASES_PER_RUN",
    10,
    "release attempts per run, across all regions; 0 = never release",
    parameter="MaxReleasesPerRun",
    minimum=0,
)
DNS_GUARD = Setting(
    "DNS_GUARD",
    "on",
    "`on`: never release an address a Route 53 record points at, and nothing when a hosted zone cannot be "
    "read; **`off` risks subdomain takeover** (and makes no Route 53 call)",
    parameter="DnsGuard",
    choices=("on", "off"),
)
RUN_LEDGER_TABLE = Setting(
    "RUN_LEDGER_TABLE",
    "",
    "the DynamoDB table that keeps each run's release budget, keyed by its event id, so a redelivery cannot "
    "spend it twice (the stack's IdempotencyTable); empty = in memory only",
)
SPECS = (
    DRY_RUN,
    GRACE_PERIOD_HOURS,
    EXEMPT_TAG_KEY,
    IDLE_TAG_KEY,
    JANITOR_REGIONS,
    MAX_RELEASES_PER_RUN,
    DNS_GUARD,
    RUN_LEDGER_TABLE,
)


@dataclass(frozen=True)
class Settings:
    dry_run: bool = DRY_RUN.default
    grace_period_hours: int = GRACE_PERIOD_HOURS.default
    exempt_tag_key: str = EXEMPT_TAG_KEY.default
    idle_tag_key: str = IDLE_TAG_KEY.default
    # () = the function's own region; ("all",) = every enabled region; else region names.
    regions: tuple[str, ...] = JANITOR_REGIONS.default
    max_releases_per_run: int = MAX_RELEASES_PER_RUN.default
    dns_guard: bool = DNS_GUARD.default == "on"
    notify: Notifier = field(default_factory=Notifier)
    # "" = the run's release budget is in memory only.
    run_ledger_table: str = RUN_LEDGER_TABLE.default
    # "" = releases are made without a record: a retry cannot report an earlier attempt's releases.
    journal_table: str = ACTION_JOURNAL_TABLE.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        exempt = _tag_key(EXEMPT_TAG_KEY, environ)
        idle = _tag_key(IDLE_TAG_KEY, environ)
        if exempt == idle:
            raise SettingsError(IDLE_TAG_KEY.env, f"must differ from {EXEMPT_TAG_KEY.env}; both are {idle!r}")
        return cls(
            dry_run=DRY_RUN.read(environ),
            grace_period_hours=GRACE_PERIOD_HOURS.read(environ),
            exempt_tag_key=exempt,
            idle_tag_key=idle,
            regions=_regions(environ),
            max_releases_per_run=MAX_RELEASES_PER_RUN.read(environ),
            dns_guard=_dns_guard(environ),
            notify=Notifier.from_env(environ),
            run_ledger_table=RUN_LEDGER_TABLE.read(environ),
            journal_table=ACTION_JOURNAL_TABLE.read(environ),
        )


def _tag_key(spec: Setting[str], environ: Mapping[str, str]) -> str:
    key = spec.read(environ)
    if key.lower().startswith(_RESERVED_TAG_PREFIX) or len(key) > _MAX_TAG_KEY_CHARS:
        raise SettingsError(spec.env, f"is not a usable EC2 tag key: {key!r}")
    return key


def _dns_guard(environ: Mapping[str, str]) -> bool:
    # Case-insensitive, unlike the spec's exact choices: " ON " means on.
    value = env_str(DNS_GUARD.env, DNS_GUARD.default, environ=environ).lower()
    if value not in (DNS_GUARD.choices or ()):
        raise SettingsError(DNS_GUARD.env, f"must be on or off; got {value!r}")
    return value == "on"


def _regions(environ: Mapping[str, str]) -> tuple[str, ...]:
    names = JANITOR_REGIONS.read(environ)
    if [name.lower() for name in names] == [ALL_REGIONS]:
        return (ALL_REGIONS,)
    for name in names:
        if not _REGION_NAME.match(name):
            raise SettingsError(JANITOR_REGIONS.env, f"'all', or region names like us-east-1; got {name!r}")
    return tuple(dict.fromkeys(names))  # drop duplicates, keep order


def resolve_regions(
    configured: Sequence[str], own_region: str, ec2_for: Callable[[str], EC2Client]
) -> list[str]:
    """() → the function's own region; ("all",) → every region enabled for the account; else as given.
    Only "all" costs a client (of the function's own region) and a call."""
    if not configured:
        return [own_region]
    if tuple(configured) == (ALL_REGIONS,):
        # Without AllRegions=True, EC2 lists only the regions the account has enabled (opt-in regions
        # that are off would fail every call with AuthFailure).
        return sorted(region["RegionName"] for region in ec2_for(own_region).describe_regions()["Regions"])
    return list(configured)
