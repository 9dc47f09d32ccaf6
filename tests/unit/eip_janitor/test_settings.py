"""Settings parse and fail at cold start, naming the variable; JANITOR_REGIONS resolves (stubbed, no AWS)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from eip_janitor.settings import Settings, resolve_regions
from groundskeeper.errors import SettingsError


def test_defaults_are_safe() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.dry_run is True
    assert (settings.grace_period_hours, settings.max_releases_per_run) == (168, 10)
    assert settings.dns_guard is True
    assert not settings.notify.enabled


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "DRY_RUN": "false",
            "GRACE_PERIOD_HOURS": "0",
            "EXEMPT_TAG_KEY": "team:keep",
            "IDLE_TAG_KEY": "team:idle",
            "JANITOR_REGIONS": " us-east-1, eu-west-1 ,us-east-1",
            "MAX_RELEASES_PER_RUN": "3",
            "DNS_GUARD": "off",
            "NOTIFY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "NOTIFY_EMAIL": "ops@example.com",
        }
    )
    assert settings.regions == ("us-east-1", "eu-west-1")
    assert (settings.dry_run, settings.grace_period_hours, settings.max_releases_per_run) == (False, 0, 3)
    assert settings.dns_guard is False
    assert Settings.from_env({"DNS_GUARD": " ON "}).dns_guard is True
    assert settings.notify.enabled
    assert settings.notify.recipients == ("ops@example.com",)
    assert Settings.from_env({"JANITOR_REGIONS": "ALL"}).regions == ("all",)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DRY_RUN": "maybe"}, "DRY_RUN"),
        ({"GRACE_PERIOD_HOURS": "-1"}, "GRACE_PERIOD_HOURS"),
        ({"GRACE_PERIOD_HOURS": "7d"}, "GRACE_PERIOD_HOURS"),
        ({"MAX_RELEASES_PER_RUN": "-5"}, "MAX_RELEASES_PER_RUN"),
        ({"JANITOR_REGIONS": "us-east-1,Mars"}, "JANITOR_REGIONS"),
        ({"JANITOR_REGIONS": "all,us-east-1"}, "JANITOR_REGIONS"),
        ({"EXEMPT_TAG_KEY": "aws:keep"}, "EXEMPT_TAG_KEY"),
        ({"EXEMPT_TAG_KEY": "same", "IDLE_TAG_KEY": "same"}, "IDLE_TAG_KEY"),
        ({"DNS_GUARD": "false"}, "DNS_GUARD"),
        ({"DNS_GUARD": "disabled"}, "DNS_GUARD"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert raised.value.variable == variable


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
