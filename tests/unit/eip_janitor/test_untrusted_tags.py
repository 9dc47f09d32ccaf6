"""Whatever someone writes in the idle tag, the janitor decides without raising: bad values are re-marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eip_janitor.decisions import Action, decide, parse_idle_tag
from eip_janitor.report import MAX_IDEMPOTENCY_KEY, notification_key
from eip_janitor.settings import Settings
from tests.unit.eip_janitor.addresses import IDLE, NOW, address

DEFAULT = Settings()
IDLE_ACTIONS = {Action.MARK, Action.WAIT, Action.RELEASE}


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # before datetime.min once in UTC: OverflowError
        "9999-12-31T23:59:59-01:00",  # after datetime.max once in UTC: OverflowError
        "2026-11-22T06:00:00." + "0" * 10_000,  # fromisoformat reads it: only its length says no
        "2" * 10_000,
        "9999-12-31T23:59:59Z",  # readable, but in the future
        "2026-11-22T06:00:00+25:00",
        "\x00",
        "",
    ],
    ids=["year-1-east", "year-9999-west", "long-fraction", "digits", "future", "bad-offset", "nul", "empty"],
)
def test_an_unusable_idle_tag_is_re_marked(value: str) -> None:
    decision = decide(address(tags={IDLE: value}), NOW, DEFAULT)
    assert (decision.action, decision.idle_since) == (Action.MARK, None)
    assert decision.reason.startswith("re-mark: bad idle tag")
    assert len(decision.reason) < 120  # the reason goes into the report and the email


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_times_are_unreadable(value: str) -> None:
    assert parse_idle_tag(value) is None


@settings(max_examples=500)
@given(value=st.text())
def test_any_tag_value_gives_a_decision(value: str) -> None:
    for grace in (0, 168):
        decision = decide(address(tags={IDLE: value}), NOW, Settings(grace_period_hours=grace))
        assert decision.action in IDLE_ACTIONS


@settings(max_examples=300)
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | st.timezones()
    ),
    separator=st.sampled_from(["T", " "]),
)
def test_any_iso_time_gives_a_decision(moment: datetime, separator: str) -> None:
    decision = decide(address(tags={IDLE: moment.isoformat(sep=separator)}), NOW, DEFAULT)
    assert decision.action in IDLE_ACTIONS
    if decision.idle_since is not None:
        assert decision.idle_since.tzinfo is not None and decision.idle_since <= NOW


def test_a_time_just_inside_the_range_still_counts() -> None:
    assert parse_idle_tag("0001-01-01T01:00:00+01:00") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_idle_tag("2026-11-22T06:00:00") == NOW  # naive: read as UTC, as the janitor writes it
    assert decide(address(tags={IDLE: "2026-11-21T06:00:00Z"}), NOW, DEFAULT).idle_since == NOW - timedelta(
        days=1
    )


def test_a_scheduled_event_id_keeps_its_readable_key() -> None:
    run_id = "7bf73129-1428-4cd3-a780-95db273d1602"
    assert notification_key(run_id) == f"eip-janitor:{run_id}"


@pytest.mark.parametrize("run_id", ["x" * 300, "a" * 245, "id with spaces", "\ud83c", "é" * 100, ""])
def test_any_run_id_gives_a_key_the_sender_accepts(run_id: str) -> None:
    key = notification_key(run_id)
    assert 1 <= len(key) <= MAX_IDEMPOTENCY_KEY
    assert key.isascii() and key.isprintable()
    assert notification_key(run_id) == key  # a retried run asks for the same email


def test_long_ids_that_share_a_prefix_get_different_keys() -> None:
    assert notification_key("x" * 300 + "a") != notification_key("x" * 300 + "b")
