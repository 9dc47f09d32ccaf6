"""R2: over 1,000 random fleets and random Route 53 zones, the pure rules never release a protected address
(associated, exempt, never ours, in grace, or named by a DNS record) and the cap holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eip_janitor.decisions import Action, decide
from eip_janitor.dns_index import DnsIndex, GuardStatus
from eip_janitor.release_budget import Candidate, choose
from eip_janitor.settings import Settings
from tests.unit.eip_janitor.addresses import IDLE, KEEP, NOW

_maybe = st.one_of(st.none(), st.just(""))


@st.composite
def addresses(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"PublicIp": "198.51.100.7"}
    for key, value in (
        ("AssociationId", "eipassoc-1"),
        ("InstanceId", "i-1"),
        ("NetworkInterfaceId", "eni-1"),
    ):
        present = draw(st.one_of(_maybe, st.just(value)))
        if present is not None:
            entry[key] = present
    entry["ServiceManaged"] = draw(st.sampled_from([None, "alb", "nlb", "rnat", "rds"]))
    entry["PublicIpv4Pool"] = draw(st.sampled_from([None, "amazon", "ipv4pool-ec2-0abc"]))
    entry["CustomerOwnedIp"] = draw(st.sampled_from([None, "", "10.0.0.1"]))
    entry["CarrierIp"] = draw(st.sampled_from([None, "", "155.146.0.1"]))
    tags: dict[str, str] = {}
    if draw(st.booleans()):
        tags[KEEP] = draw(st.sampled_from(["", "true", "no"]))
    idle = draw(
        st.one_of(
            st.none(),
            st.integers(min_value=-48, max_value=24 * 40).map(
                lambda h: (NOW - timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            st.sampled_from(["", "yesterday", "2026-13-01T00:00:00Z", "1700000000"]),
        )
    )
    if idle is not None:
        tags[IDLE] = idle
    entry["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {k: v for k, v in entry.items() if v is not None}


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    regions = draw(
        st.lists(st.sampled_from(["us-east-1", "eu-west-1", "ap-south-1"]), min_size=1, unique=True)
    )
    fleet = {region: draw(st.lists(addresses(), max_size=8)) for region in regions}
    for number, address in enumerate(a for region in fleet.values() for a in region):
        address["AllocationId"] = f"eipalloc-{number:04d}"
        address["PublicIp"] = f"198.51.100.{number}"
    return fleet


# A zone: (name, private, [(record name, IP it points at)]); IPs are the fleet's or strangers'.
Zone = tuple[str, bool, list[tuple[str, str]]]


@st.composite
def zones(draw: st.DrawFn, fleet: dict[str, list[dict[str, Any]]]) -> list[Zone]:
    ips = [a["PublicIp"] for addresses_ in fleet.values() for a in addresses_] + ["192.0.2.1"]
    drawn = draw(st.lists(st.tuples(st.booleans(), st.lists(st.sampled_from(ips), max_size=4)), max_size=4))
    return [
        (f"zone{z}.example.", private, [(f"host{n}.zone{z}.example.", ip) for n, ip in enumerate(targets)])
        for z, (private, targets) in enumerate(drawn)
    ]


def index_of(zones_: list[Zone], status: GuardStatus) -> DnsIndex:
    by_ip: dict[str, list[Any]] = {}
    for zone, private, records in zones_:
        for name, ip in records:
            entry = {"name": name, "type": "A", "zone": zone, "zone_id": zone, "private": private}
            by_ip.setdefault(ip, []).append(entry)
    found = {ip: tuple(entries) for ip, entries in by_ip.items()} if status is GuardStatus.OK else {}
    return DnsIndex(status, found, zones_read=len(zones_))


def named_by_dns(address: dict[str, Any], zones_: list[Zone], status: GuardStatus) -> bool:
    """May a record point at the address? Yes if one does, and for every address if a zone was unread."""
    if status is GuardStatus.OFF:
        return False
    return status is GuardStatus.FAILED or any(
        ip == address["PublicIp"] for _, _, rs in zones_ for _, ip in rs
    )


def protected(address: dict[str, Any], settings: Settings) -> bool:
    """The documented list of addresses that must never be released, written independently of decide()."""
    tags = {t["Key"]: t["Value"] for t in address["Tags"]}
    associated = any(address.get(k) for k in ("AssociationId", "InstanceId", "NetworkInterfaceId"))
    foreign = (
        bool(address.get("ServiceManaged"))
        or address.get("PublicIpv4Pool") not in (None, "amazon")
        or bool(address.get("CustomerOwnedIp"))
        or bool(address.get("CarrierIp"))
    )
    in_grace = False
    if settings.grace_period_hours > 0:
        try:
            since = NOW.fromisoformat(tags[IDLE])
            in_grace = NOW - since < timedelta(hours=settings.grace_period_hours)
        except (KeyError, ValueError):
            in_grace = True  # untagged or unreadable: the clock has not even started
    return associated or foreign or KEEP in tags or in_grace


@settings(max_examples=1000, deadline=None)
@given(
    fleet=fleets(),
    grace=st.sampled_from([0, 1, 24, 168, 240]),
    cap=st.integers(min_value=0, max_value=8),
    status=st.sampled_from([GuardStatus.OK, GuardStatus.OK, GuardStatus.FAILED, GuardStatus.OFF]),
    data=st.data(),
)
def test_no_protected_address_is_ever_released_and_the_cap_holds(
    fleet: dict[str, list[dict[str, Any]]], grace: int, cap: int, status: GuardStatus, data: st.DataObject
) -> None:
    settings_ = Settings(grace_period_hours=grace, max_releases_per_run=cap)
    zones_ = data.draw(zones(fleet))
    dns = index_of(zones_, status)
    by_id = {a["AllocationId"]: a for addresses_ in fleet.values() for a in addresses_}
    candidates = [
        Candidate(region, decision, address)
        for region, addresses_ in fleet.items()
        for address in addresses_
        if (decision := decide(address, NOW, settings_, dns)).action is Action.RELEASE
    ]
    chosen, deferred = choose(candidates, cap)

    assert len(chosen) <= cap
    assert len(chosen) + len(deferred) == len(candidates)
    for candidate in chosen + deferred:
        assert not protected(by_id[candidate.allocation_id], settings_)
        assert not named_by_dns(by_id[candidate.allocation_id], zones_, status)
    # An address held back by DNS is due all the same, and takes no place under the cap.
    due = [a for a in by_id.values() if decide(a, NOW, settings_).action is Action.RELEASE]
    assert len(candidates) == sum(not named_by_dns(a, zones_, status) for a in due)
    assert len(chosen) == min(cap, len(candidates))
    # Every candidate carries the age its idle tag gives, with or without a grace period...
    for candidate in chosen + deferred:
        assert candidate.decision.idle_since == tagged_since(by_id[candidate.allocation_id])
    # ...and deferral takes the oldest first: nothing deferred is older than anything chosen, and one of
    # unknown age (no readable tag) is chosen only after every dated one.
    if chosen and deferred:
        assert max(map(age_order, chosen)) <= min(map(age_order, deferred))


def tagged_since(address: dict[str, Any]) -> datetime | None:
    value = {t["Key"]: t["Value"] for t in address["Tags"]}.get(IDLE)
    try:
        return datetime.fromisoformat(value).astimezone(UTC) if value else None
    except ValueError:
        return None


def age_order(candidate: Candidate) -> tuple[bool, datetime]:
    since = candidate.decision.idle_since
    return (since is None, since or datetime.min.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=40))
def test_any_idle_tag_text_gives_a_decision_never_an_exception(value: str) -> None:
    decision = decide(
        {"AllocationId": "eipalloc-1", "Tags": [{"Key": IDLE, "Value": value}]}, NOW, Settings()
    )
    assert decision.action in (Action.MARK, Action.WAIT, Action.RELEASE)
