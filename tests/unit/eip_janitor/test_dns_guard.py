"""The DNS guard's pure parts: which record sets point at an address, and what a due address becomes."""

from __future__ import annotations

from typing import Any

import pytest

from eip_janitor.decisions import Action, decide, guard_release
from eip_janitor.dns_index import GUARD_OFF, DnsIndex, GuardStatus, pointed_ips, record_name
from eip_janitor.report import DnsRecordEntry, RegionReport, RunOutcome, dns_held_back_text, worth_mailing
from eip_janitor.settings import Settings
from tests.unit.eip_janitor.addresses import NOW, address, idle_for

DUE = address(tags=idle_for(24 * 30))  # PublicIp 203.0.113.10
SETTINGS = Settings()


def record(name: str, zone: str = "example.com.", *, private: bool = False) -> DnsRecordEntry:
    return {"name": name, "type": "A", "zone": zone, "zone_id": "Z1", "private": private}


def index(by_ip: dict[str, tuple[DnsRecordEntry, ...]]) -> DnsIndex:
    return DnsIndex(GuardStatus.OK, by_ip, zones_read=2)


def values(type_: str, *values: str) -> dict[str, Any]:
    return {"Type": type_, "ResourceRecords": [{"Value": value} for value in values]}


@pytest.mark.parametrize(
    ("record_set", "ips"),
    [
        (values("A", "203.0.113.10", " 198.51.100.1 "), ["203.0.113.10", "198.51.100.1"]),
        (values("CNAME", "ec2-203-0-113-10.compute-1.amazonaws.com"), ["203.0.113.10"]),
        (values("CNAME", "EC2-203-0-113-10.eu-west-1.compute.amazonaws.com."), ["203.0.113.10"]),
        (values("CNAME", "ec2-1-2-3-4.cn-north-1.compute.amazonaws.com.cn"), ["1.2.3.4"]),
        (values("CNAME", "www.example.org."), []),
        # An alias points at an AWS resource's name, never at an Elastic IP.
        ({"Type": "A", "AliasTarget": {"DNSName": "lb.elb.amazonaws.com.", "HostedZoneId": "Z"}}, []),
        (values("AAAA", "2001:db8::1"), []),
        (values("TXT", '"203.0.113.10"'), []),
    ],
)
def test_a_records_and_cnames_to_ec2_host_names_point_at_addresses(
    record_set: dict[str, Any], ips: list[str]
) -> None:
    assert pointed_ips(record_set) == ips


def test_route53_escapes_are_decoded_for_the_report() -> None:
    assert record_name("\\052.example.com.") == "*.example.com."
    assert record_name("www.example.com.") == "www.example.com."


def test_a_due_address_named_by_a_record_is_held_with_its_names() -> None:
    dns = index({"203.0.113.10": (record("www.example.com."), record("api.corp.", "corp.", private=True))})
    decision = decide(DUE, NOW, SETTINGS, dns)
    assert decision.action is Action.DNS_PROTECTED
    assert decision.reason == "DNS: api.corp., www.example.com."
    assert decision.idle_since is not None


def test_a_due_address_no_record_names_is_released() -> None:
    dns = index({"198.51.100.1": (record("other.example.com."),)})
    assert decide(DUE, NOW, SETTINGS, dns).action is Action.RELEASE


def test_a_failed_index_holds_every_due_address_and_off_holds_none() -> None:
    failed = DnsIndex(GuardStatus.FAILED, error="ListResourceRecordSets on zone Z1 (a.): AccessDenied")
    held = decide(DUE, NOW, SETTINGS, failed)
    assert (held.action, held.reason) == (
        Action.HOLD,
        "DNS guard failed: ListResourceRecordSets on zone Z1 (a.): AccessDenied",
    )
    assert decide(DUE, NOW, SETTINGS, GUARD_OFF).action is Action.RELEASE


def test_an_address_without_a_public_ip_cannot_be_checked_so_it_is_held() -> None:
    assert (
        decide(address(PublicIp=None, tags=idle_for(24 * 30)), NOW, SETTINGS, index({})).action is Action.HOLD
    )


@pytest.mark.parametrize("tags", [{}, idle_for(2)])
def test_the_guard_acts_only_at_release_time(tags: dict[str, str]) -> None:
    # An address still to mark, or in its grace period, keeps its own decision: the clock keeps running.
    dns = index({"203.0.113.10": (record("www.example.com."),)})
    plain = decide(address(tags=tags), NOW, SETTINGS)
    assert decide(address(tags=tags), NOW, SETTINGS, dns) == plain
    assert guard_release(plain, address(tags=tags), DnsIndex(GuardStatus.FAILED)) == plain


def test_the_email_section_lists_address_region_and_records_or_says_why_not() -> None:
    region = RegionReport(
        dns_protected=[
            {
                "allocation_id": "eipalloc-1",
                "public_ip": "203.0.113.10",
                "records": [record("www.example.com."), record("api.corp.", "corp.", private=True)],
            }
        ]
    )
    ok = RunOutcome(False, "r", {"eu-west-1": region}, dns_guard=index({}).entry())
    assert dns_held_back_text(ok) == (
        "203.0.113.10 (eipalloc-1, eu-west-1): www.example.com. A in zone example.com. (public); "
        "api.corp. A in zone corp. (private)"
    )
    assert worth_mailing(ok)
    quiet = RunOutcome(False, "r", {"eu-west-1": RegionReport()}, dns_guard=index({}).entry())
    assert dns_held_back_text(quiet).startswith("None: no record in the 2 hosted zones")
    assert not worth_mailing(quiet)
    failed_entry = DnsIndex(GuardStatus.FAILED, error="ListHostedZones: AccessDenied").entry()
    failed = RunOutcome(False, "r", {"eu-west-1": RegionReport()}, dns_guard=failed_entry)
    assert "could not read every hosted zone (ListHostedZones: AccessDenied)" in dns_held_back_text(failed)
    assert worth_mailing(failed)
    assert "DNS_GUARD=off" in dns_held_back_text(RunOutcome(False, "r", {}))
