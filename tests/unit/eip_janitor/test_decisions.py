"""Every branch of decide(): protection first, then the idle lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eip_janitor.decisions import Action, decide, format_idle_tag, parse_idle_tag
from eip_janitor.settings import Settings
from tests.unit.eip_janitor.addresses import IDLE, KEEP, NOW, address, idle_for

DEFAULT = Settings()


def test_idle_untagged_address_is_marked() -> None:
    assert decide(address(), NOW, DEFAULT).action is Action.MARK


def test_idle_past_grace_is_released_with_its_age() -> None:
    decision = decide(address(tags=idle_for(24 * 10)), NOW, DEFAULT)
    assert decision.action is Action.RELEASE
    assert decision.idle_since == datetime(2026, 11, 12, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "action"), [(167.99, Action.WAIT), (168, Action.RELEASE), (1, Action.WAIT)]
)
def test_grace_period_boundary(hours: float, action: Action) -> None:
    assert decide(address(tags=idle_for(hours)), NOW, DEFAULT).action is action


@pytest.mark.parametrize(
    "association",
    [{"AssociationId": "eipassoc-1"}, {"InstanceId": "i-1"}, {"NetworkInterfaceId": "eni-1"}],
)
def test_in_use_address_is_left_alone_and_unmarked_if_tagged(association: dict[str, str]) -> None:
    assert decide(address(**association), NOW, DEFAULT).action is Action.IN_USE
    assert decide(address(tags=idle_for(1000), **association), NOW, DEFAULT).action is Action.UNMARK


def test_empty_association_fields_mean_idle() -> None:
    # moto returns InstanceId="" and NetworkInterfaceId="" for an idle address.
    assert decide(address(InstanceId="", NetworkInterfaceId=""), NOW, DEFAULT).action is Action.MARK


@pytest.mark.parametrize(
    "extra",
    [{}, {"AssociationId": "eipassoc-1"}, {"ServiceManaged": "alb"}],
    ids=["idle", "in-use", "managed"],
)
def test_exemption_tag_wins_over_everything(extra: dict[str, str]) -> None:
    decision = decide(address(tags={KEEP: "", **idle_for(1000)}, **extra), NOW, DEFAULT)
    assert (decision.action, decision.reason) == (Action.EXEMPT, f"tag {KEEP}")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ServiceManaged": "alb"}, "service-managed:alb"),
        ({"PublicIpv4Pool": "ipv4pool-ec2-0123"}, "byoip:ipv4pool-ec2-0123"),
        ({"CustomerOwnedIp": "10.1.1.1", "CustomerOwnedIpv4Pool": "ipv4pool-coip-1"}, "customer-owned"),
        ({"CarrierIp": "155.146.1.1"}, "carrier-ip"),
        ({"AllocationId": None}, "no-allocation-id"),
    ],
)
def test_never_ours_is_skipped_with_a_reason_even_when_long_idle(fields: dict[str, str], reason: str) -> None:
    decision = decide(address(tags=idle_for(1000), **fields), NOW, DEFAULT)
    assert (decision.action, decision.reason) == (Action.SKIP, reason)


def test_missing_pool_counts_as_amazon() -> None:
    entry = address(tags=idle_for(1000))
    del entry["PublicIpv4Pool"]
    assert decide(entry, NOW, DEFAULT).action is Action.RELEASE


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-01T00:00:00Z", "2027-01-01T00:00:00Z"])
def test_unreadable_or_future_idle_tag_is_re_marked(value: str) -> None:
    decision = decide(address(tags={IDLE: value}), NOW, DEFAULT)
    assert decision.action is Action.MARK
    assert decision.reason.startswith("re-mark")


def test_no_grace_period_releases_on_first_sight_without_a_tag() -> None:
    settings = Settings(grace_period_hours=0)
    assert decide(address(), NOW, settings).action is Action.RELEASE
    assert decide(address(tags={IDLE: "garbage"}), NOW, settings).action is Action.RELEASE
    assert decide(address(AssociationId="eipassoc-1"), NOW, settings).action is Action.IN_USE


def test_custom_tag_keys_are_honoured() -> None:
    settings = Settings(exempt_tag_key="team:pin", idle_tag_key="team:idle")
    assert decide(address(tags={"team:pin": "x"}), NOW, settings).action is Action.EXEMPT
    assert decide(address(tags={KEEP: "x"}), NOW, settings).action is Action.MARK  # not our key any more
    assert decide(address(tags={"team:idle": "2026-01-01T00:00:00Z"}), NOW, settings).action is Action.RELEASE


def test_idle_tag_round_trips_and_accepts_offsets_and_naive_times() -> None:
    assert parse_idle_tag(format_idle_tag(NOW)) == NOW
    assert parse_idle_tag("2026-11-22T07:00:00+01:00") == NOW
    assert parse_idle_tag("2026-11-22T06:00:00") == NOW
    assert parse_idle_tag("not a time") is None
