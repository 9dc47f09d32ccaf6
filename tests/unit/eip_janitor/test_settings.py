"""Settings parse and fail at cold start, naming the variable."""

from __future__ import annotations

import pytest

from eip_janitor.settings import Settings
from groundskeeper.errors import SettingsError


def test_defaults_are_safe() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.dry_run is True
    assert (settings.grace_period_hours, settings.max_releases_per_run) == (168, 10)
    assert not settings.notifies


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "DRY_RUN": "false",
            "GRACE_PERIOD_HOURS": "0",
            "EXEMPT_TAG_KEY": "team:keep",
            "IDLE_TAG_KEY": "team:idle",
            "JANITOR_REGIONS": " us-east-1, eu-west-1 ,us-east-1",
            "MAX_RELEASES_PER_RUN": "3",
            "NOTIFY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "NOTIFY_EMAIL": "ops@example.com",
        }
    )
    assert settings.regions == ("us-east-1", "eu-west-1")
    assert (settings.dry_run, settings.grace_period_hours, settings.max_releases_per_run) == (False, 0, 3)
    assert settings.notifies
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
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert raised.value.variable == variable
