"""The janitor's settings, read once from the environment at cold start, and what JANITOR_REGIONS means."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier
from groundskeeper.settings import env_bool, env_csv, env_int, env_str
from groundskeeper_org.accounts import OrgSettings

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

ALL_REGIONS = "all"
MAX_GRACE = 24 * 3650  # ten years: anything longer is a typo
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# EC2 refuses tag keys with this prefix, so such a setting could never work.
_RESERVED_TAG_PREFIX = "aws:"
DNS_GUARD_VALUES = ("on", "off")


@dataclass(frozen=True)
class Settings:
    dry_run: bool = True
    grace_period_hours: int = 168
    exempt_tag_key: str = "groundskeeper:keep"
    idle_tag_key: str = "groundskeeper:idle-since"
    # () = the function's own region; ("all",) = every enabled region; else region names.
    regions: tuple[str, ...] = ()
    max_releases_per_run: int = 10
    # Never release an address a Route 53 record points at (subdomain takeover); off only by choice.
    dns_guard: bool = True
    notify: Notifier = field(default_factory=Notifier)
    # The DynamoDB table that keeps each run's release budget (run_ledger); "" = the budget is in memory only.
    run_ledger_table: str = ""
    # MEMBER_ACCOUNTS and its companions: off = this account only; on = a schedule plans, the queue sweeps.
    org: OrgSettings = field(default_factory=OrgSettings)

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
            dns_guard=_dns_guard(environ),
            notify=Notifier.from_env(environ),
            org=OrgSettings.from_env(environ),
            run_ledger_table=env_str("RUN_LEDGER_TABLE", environ=environ),
        )


def _tag_key(name: str, default: str, environ: Mapping[str, str]) -> str:
    key = env_str(name, default, environ=environ) or default
    if key.lower().startswith(_RESERVED_TAG_PREFIX) or len(key) > 128:
        raise SettingsError(name, f"is not a usable EC2 tag key: {key!r}")
    return key


def _dns_guard(environ: Mapping[str, str]) -> bool:
    value = env_str("DNS_GUARD", "on", environ=environ).lower() or "on"
    if value not in DNS_GUARD_VALUES:
        raise SettingsError("DNS_GUARD", f"must be on or off; got {value!r}")
    return value == "on"


def _regions(environ: Mapping[str, str]) -> tuple[str, ...]:
    names = env_csv("JANITOR_REGIONS", environ=environ)
    if [name.lower() for name in names] == [ALL_REGIONS]:
        return (ALL_REGIONS,)
    for name in names:
        if not _REGION_NAME.match(name):
            raise SettingsError("JANITOR_REGIONS", f"'all', or region names like us-east-1; got {name!r}")
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
