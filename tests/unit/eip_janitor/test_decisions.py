"""Every branch of decide(): protection first, then the idle lifecycle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from eip_janitor.decisions import Action, decide, format_idle_tag, parse_idle_tag
from eip_janitor.dns_index import DnsIndex, GuardStatus
from eip_janitor.report import DnsRecordEntry
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
        ({"CustomerOwnedIp": "10.1.1.1"}, "customer-owned"),
        ({"CustomerOwnedIpv4Pool": "ipv4pool-coip-1"}, "customer-owned"),
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


def test_no_grace_period_keeps_a_readable_idle_tag_as_the_age() -> None:
    # The cap releases the oldest first; with GRACE_PERIOD_HOURS=0 the age still comes from the tag.
    settings = Settings(grace_period_hours=0)
    decision = decide(address(tags=idle_for(30)), NOW, settings)
    assert (decision.action, decision.reason) == (Action.RELEASE, "idle, no grace period")
    assert decision.idle_since == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
    assert decide(address(tags={IDLE: "garbage"}), NOW, settings).idle_since is None
    assert decide(address(), NOW, settings).idle_since is None


def test_each_decision_names_its_reason() -> None:
    assert decide(address(), NOW, DEFAULT).reason == "idle"
    waiting = decide(address(tags=idle_for(2)), NOW, DEFAULT)
    assert (waiting.action, waiting.reason) == (Action.WAIT, "idle since 2026-11-22T04:00:00Z")
    assert waiting.idle_since == datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert decide(address(tags={IDLE: "x"}), NOW, DEFAULT).reason == "re-mark: bad idle tag 'x'"
    in_use = decide(address(AssociationId="eipassoc-1"), NOW, DEFAULT)
    assert (in_use.action, in_use.allocation_id, in_use.reason, in_use.idle_since) == (
        Action.IN_USE,
        "eipalloc-1",
        "",
        None,
    )


def test_an_idle_tag_exactly_now_waits() -> None:
    decision = decide(address(tags=idle_for(0)), NOW, DEFAULT)
    assert (decision.action, decision.idle_since) == (Action.WAIT, NOW)


@pytest.mark.parametrize(
    ("entry", "action"),
    [
        (address("eipalloc-idle"), Action.MARK),
        (address("eipalloc-idle", tags={IDLE: "x"}), Action.MARK),
        (address("eipalloc-idle", tags=idle_for(2)), Action.WAIT),
        (address("eipalloc-idle", tags=idle_for(1000)), Action.RELEASE),
        (address("eipalloc-idle", tags={KEEP: ""}), Action.EXEMPT),
        (address("eipalloc-idle", ServiceManaged="nlb"), Action.SKIP),
        (address("eipalloc-idle", InstanceId="i-1"), Action.IN_USE),
    ],
)
def test_every_decision_names_its_address(entry: dict[str, object], action: Action) -> None:
    decision = decide(entry, NOW, DEFAULT)
    assert (decision.action, decision.allocation_id) == (action, "eipalloc-idle")


def test_a_release_says_since_when() -> None:
    decision = decide(address(tags=idle_for(24 * 10)), NOW, DEFAULT)
    assert decision.reason == "idle since 2026-11-12T06:00:00Z"


def test_a_tag_without_a_value_is_a_bad_idle_tag_but_still_an_exemption() -> None:
    untagged_value = address(tags={})
    untagged_value["Tags"] = [{"Key": IDLE}]
    decision = decide(untagged_value, NOW, DEFAULT)
    assert (decision.action, decision.reason) == (Action.MARK, "re-mark: bad idle tag ''")
    untagged_value["Tags"] = [{"Key": KEEP}]
    assert decide(untagged_value, NOW, DEFAULT).action is Action.EXEMPT


@pytest.fixture
def local_time_far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A developer's machine, unlike Lambda, rarely runs in UTC: the tag must not depend on it.
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_far_from_utc")
def test_idle_tags_are_utc_whatever_the_local_time_zone() -> None:
    assert format_idle_tag(NOW.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-22T06:00:00Z"
    assert format_idle_tag(datetime(2026, 11, 22, 6, 0, tzinfo=UTC)) == "2026-11-22T06:00:00Z"
    assert parse_idle_tag("2026-11-22T06:00:00") == NOW
    parsed = parse_idle_tag("2026-11-22T01:00:00-05:00")
    assert parsed == NOW
    assert parsed is not None and parsed.tzinfo is UTC


def test_an_idle_tag_is_read_up_to_64_characters() -> None:
    longest = "2026-11-22T06:00:00." + "0" * 38 + "+00:00"  # fromisoformat takes any fraction length
    assert len(longest) == 64
    assert parse_idle_tag(longest) == NOW
    assert parse_idle_tag(f"  {longest}  ") == NOW  # surrounding spaces do not count
    assert parse_idle_tag("2026-11-22T06:00:00." + "0" * 39 + "+00:00") is None


@pytest.mark.parametrize(
    ("tag", "shown"),
    [("x" * 64, "x" * 64), ("x" * 65, "x" * 64 + "..."), ("y" * 500, "y" * 64 + "...")],
)
def test_a_bad_idle_tag_is_quoted_at_most_64_characters(tag: str, shown: str) -> None:
    decision = decide(address(tags={IDLE: tag}), NOW, DEFAULT)
    assert (decision.action, decision.reason) == (Action.MARK, f"re-mark: bad idle tag {shown!r}")


# --- the DNS guard's decisions carry the address and its age --------------------------------------------

DUE = address("eipalloc-due", tags=idle_for(24 * 30))  # PublicIp 203.0.113.10
DUE_SINCE = NOW - timedelta(hours=24 * 30)


def dns_record(name: str) -> DnsRecordEntry:
    return {"name": name, "type": "A", "zone": "example.com.", "zone_id": "Z1", "private": False}


@pytest.mark.parametrize(
    ("entry", "dns", "expected"),
    [
        (
            DUE,
            DnsIndex(GuardStatus.FAILED, error="ListHostedZones: AccessDenied"),
            (Action.HOLD, "DNS guard failed: ListHostedZones: AccessDenied"),
        ),
        (
            {**DUE, "PublicIp": ""},
            DnsIndex(GuardStatus.OK),
            (Action.HOLD, "no public IP to check against DNS"),
        ),
        (
            DUE,
            DnsIndex(
                GuardStatus.OK, {"203.0.113.10": (dns_record("b.example.com"), dns_record("a.example.com"))}
            ),
            (Action.DNS_PROTECTED, "DNS: a.example.com, b.example.com"),
        ),
        (
            DUE,
            DnsIndex(GuardStatus.OK, {"198.51.100.1": (dns_record("x.example.com"),)}),
            (Action.RELEASE, None),
        ),
    ],
    ids=["guard-failed", "no-public-ip", "named-in-dns", "named-elsewhere"],
)
def test_a_due_address_held_by_the_dns_guard_keeps_its_id_and_age(
    entry: dict[str, object], dns: DnsIndex, expected: tuple[Action, str | None]
) -> None:
    decision = decide(entry, NOW, DEFAULT, dns)
    action, reason = expected
    assert (decision.action, decision.allocation_id, decision.idle_since) == (
        action,
        "eipalloc-due",
        DUE_SINCE,
    )
    if reason is not None:
        assert decision.reason == reason


# --- an untagged idle address that a run remembers seeing idle (a dry run's memory) ------------------------


def test_an_untagged_address_nobody_remembers_is_marked_now() -> None:
    decision = decide(address(), NOW, DEFAULT, remembered=None)
    assert (decision.action, decision.reason, decision.idle_since) == (Action.MARK, "idle", None)


def test_a_remembered_time_in_the_future_is_not_trusted() -> None:
    decision = decide(address(), NOW, DEFAULT, remembered=NOW + timedelta(seconds=1))
    assert (decision.action, decision.reason, decision.idle_since) == (Action.MARK, "idle", None)


@pytest.mark.parametrize(
    ("hours", "action"), [(167.99, Action.MARK), (168, Action.RELEASE), (24 * 10, Action.RELEASE)]
)
def test_a_remembered_address_is_released_once_past_the_grace_period(hours: float, action: Action) -> None:
    since = NOW - timedelta(hours=hours)
    untagged = address()
    decision = decide(untagged, NOW, DEFAULT, remembered=since)
    assert decision.action is action
    assert decision.allocation_id == untagged["AllocationId"]
    assert decision.idle_since == since
    assert decision.reason == f"idle since {format_idle_tag(since)} (remembered)"


def test_a_remembered_time_now_marks_with_that_time() -> None:
    decision = decide(address(), NOW, DEFAULT, remembered=NOW)
    assert (decision.action, decision.idle_since) == (Action.MARK, NOW)


def test_the_idle_tag_wins_over_a_remembered_time() -> None:
    tagged = address(tags=idle_for(1))
    decision = decide(tagged, NOW, DEFAULT, remembered=NOW - timedelta(days=30))
    assert decision.action is Action.WAIT


def test_with_no_grace_period_a_remembered_address_is_released_as_any_idle_one() -> None:
    settings = Settings(grace_period_hours=0)
    decision = decide(address(), NOW, settings, remembered=NOW - timedelta(hours=1))
    assert (decision.action, decision.reason) == (Action.RELEASE, "idle, no grace period")
