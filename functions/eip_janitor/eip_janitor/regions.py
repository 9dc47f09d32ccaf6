"""Turns JANITOR_REGIONS into the list of regions to sweep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from eip_janitor.settings import ALL_REGIONS

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


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
