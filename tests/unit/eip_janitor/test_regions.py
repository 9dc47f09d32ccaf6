"""JANITOR_REGIONS resolution (describe_regions stubbed: no AWS)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from eip_janitor.regions import resolve_regions


def test_empty_means_own_region_and_list_is_kept() -> None:
    def no_client(region: str) -> Any:
        raise AssertionError("no client is needed unless JANITOR_REGIONS=all")

    assert resolve_regions((), "eu-north-1", no_client) == ["eu-north-1"]
    assert resolve_regions(("eu-west-1", "us-east-1"), "eu-north-1", no_client) == ["eu-west-1", "us-east-1"]


def test_all_means_every_enabled_region() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_regions", {"Regions": [{"RegionName": "us-west-2"}, {"RegionName": "eu-west-1"}]}, {}
        )
        assert resolve_regions(("all",), "us-east-1", lambda region: ec2) == ["eu-west-1", "us-west-2"]
