"""Building the DNS index from Route 53's pages, without AWS: records -> IP -> names, counts, failing closed.

The client is an in-memory stand-in that serves the same pages moto would, so every branch of the index
(each zone, each page, each failure) runs in milliseconds. tests/integration/eip_janitor/test_dns_guard.py
runs the same code against moto.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from eip_janitor.dns_index import GUARD_OFF, DnsIndex, GuardStatus, build_dns_index, pointed_ips
from eip_janitor.report import DnsRecordEntry

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

Page = Mapping[str, Any]


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class Pages:
    """A paginator over fixed pages; an exception in the list is raised when iteration reaches it."""

    def __init__(self, pages: Sequence[Page | Exception]) -> None:
        self.pages = pages

    def __iter__(self) -> Iterator[Page]:
        for page in self.pages:
            if isinstance(page, Exception):
                raise page
            yield page


class Route53:
    """Serves list_hosted_zones pages, and list_resource_record_sets pages by HostedZoneId only."""

    def __init__(self, zones: Sequence[Page | Exception], records: Mapping[str, Sequence[Page | Exception]]):
        self.zones = zones
        self.records = records
        self.asked: list[str] = []

    def get_paginator(self, operation: str) -> Route53:
        self.operation = operation
        return self

    def paginate(self, **kwargs: str) -> Pages:
        if self.operation == "list_hosted_zones":
            assert kwargs == {}
            return Pages(self.zones)
        assert self.operation == "list_resource_record_sets"
        assert set(kwargs) == {"HostedZoneId"}
        self.asked.append(kwargs["HostedZoneId"])
        return Pages(self.records[kwargs["HostedZoneId"]])


def build(route53: Route53) -> DnsIndex:
    return build_dns_index(cast("Route53Client", route53))


def zone(zone_id: str, name: str, *, private: bool | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"Id": f"/hostedzone/{zone_id}", "Name": name}
    if private is not None:
        found["Config"] = {"PrivateZone": private}
    return found


def rrset(name: str, type_: str, *values: str) -> dict[str, Any]:
    return {"Name": name, "Type": type_, "ResourceRecords": [{"Value": value} for value in values]}


def entry(name: str, type_: str, zone: str, zone_id: str, *, private: bool = False) -> DnsRecordEntry:
    return {"name": name, "type": type_, "zone": zone, "zone_id": zone_id, "private": private}


def test_every_zone_and_page_is_read_and_each_ip_lists_the_records_that_name_it() -> None:
    route53 = Route53(
        zones=[
            {"HostedZones": [zone("Z1", "example.com."), zone("Z2", "corp.", private=True)]},
            {"HostedZones": [zone("Z3", "\\052.wild.test.", private=False)]},
        ],
        records={
            "Z1": [
                {"ResourceRecordSets": [rrset("example.com.", "NS", "ns-1.awsdns.com.")]},
                {
                    "ResourceRecordSets": [
                        rrset("www.example.com.", "A", "203.0.113.10", "198.51.100.1"),
                        rrset("\\052.example.com.", "CNAME", "ec2-203-0-113-10.compute-1.amazonaws.com"),
                    ]
                },
            ],
            "Z2": [{"ResourceRecordSets": [rrset("api.corp.", "A", "203.0.113.10")]}],
            "Z3": [{"ResourceRecordSets": []}],
        },
    )
    index = build(route53)
    assert route53.asked == ["Z1", "Z2", "Z3"]
    assert index == DnsIndex(
        GuardStatus.OK,
        {
            "203.0.113.10": (
                entry("www.example.com.", "A", "example.com.", "Z1"),
                entry("*.example.com.", "CNAME", "example.com.", "Z1"),
                entry("api.corp.", "A", "corp.", "Z2", private=True),
            ),
            "198.51.100.1": (entry("www.example.com.", "A", "example.com.", "Z1"),),
        },
        zones_read=3,
        records_read=4,
        calls=2 + 4,
        error=None,
    )
    assert index.records_for("198.51.100.1") == (entry("www.example.com.", "A", "example.com.", "Z1"),)
    assert index.records_for("192.0.2.1") == ()
    assert isinstance(index.by_ip["203.0.113.10"], tuple)


def test_a_zone_name_with_an_escape_is_decoded() -> None:
    route53 = Route53(
        zones=[{"HostedZones": [zone("Z9", "\\052.wild.test.")]}],
        records={"Z9": [{"ResourceRecordSets": [rrset("a.wild.test.", "A", "192.0.2.7")]}]},
    )
    assert build(route53).records_for("192.0.2.7") == (entry("a.wild.test.", "A", "*.wild.test.", "Z9"),)


def test_a_zone_id_without_its_hostedzone_prefix_is_used_as_it_is() -> None:
    route53 = Route53(
        zones=[{"HostedZones": [{"Id": "Z7", "Name": "bare.test."}]}],
        records={"Z7": [{"ResourceRecordSets": [rrset("a.bare.test.", "A", "192.0.2.7")]}]},
    )
    assert build(route53).records_for("192.0.2.7") == (entry("a.bare.test.", "A", "bare.test.", "Z7"),)


def test_no_zone_is_an_empty_complete_index() -> None:
    index = build(Route53(zones=[{"HostedZones": []}], records={}))
    assert index == DnsIndex(GuardStatus.OK, {}, zones_read=0, records_read=0, calls=1)


def test_a_zone_deleted_between_the_listings_is_skipped_and_the_rest_still_read() -> None:
    route53 = Route53(
        zones=[{"HostedZones": [zone("Z1", "gone.test."), zone("Z2", "example.com.")]}],
        records={
            "Z1": [
                {"ResourceRecordSets": [rrset("old.gone.test.", "A", "192.0.2.1")]},
                client_error("NoSuchHostedZone", "ListResourceRecordSets"),
            ],
            "Z2": [{"ResourceRecordSets": [rrset("www.example.com.", "A", "203.0.113.10")]}],
        },
    )
    index = build(route53)
    assert (index.status, index.error) == (GuardStatus.OK, None)
    assert (index.zones_read, index.records_read, index.calls) == (2, 2, 3)
    assert index.records_for("203.0.113.10") == (entry("www.example.com.", "A", "example.com.", "Z2"),)
    # What the deleted zone served before it went is kept: holding an address is the safe side.
    assert index.records_for("192.0.2.1") == (entry("old.gone.test.", "A", "gone.test.", "Z1"),)


def test_a_zone_that_cannot_be_read_fails_the_index_naming_the_zone_with_what_was_read_so_far() -> None:
    route53 = Route53(
        zones=[{"HostedZones": [zone("Z1", "example.com."), zone("Z2", "corp.", private=True)]}],
        records={
            "Z1": [{"ResourceRecordSets": [rrset("www.example.com.", "A", "203.0.113.10")]}],
            "Z2": [
                {"ResourceRecordSets": [rrset("api.corp.", "A", "203.0.113.11")]},
                client_error("AccessDenied", "ListResourceRecordSets"),
            ],
            "Z3": [],
        },
    )
    index = build(route53)
    assert index == DnsIndex(
        GuardStatus.FAILED,
        {},
        zones_read=1,
        records_read=2,
        calls=3,
        error="ListResourceRecordSets on zone /hostedzone/Z2 (corp.): AccessDenied",
    )


def test_a_hosted_zone_listing_that_fails_fails_the_index() -> None:
    route53 = Route53(
        zones=[{"HostedZones": [zone("Z1", "example.com.")]}, client_error("Throttling", "ListHostedZones")],
        records={"Z1": []},
    )
    index = build(route53)
    assert index == DnsIndex(
        GuardStatus.FAILED, {}, zones_read=0, records_read=0, calls=1, error="ListHostedZones: Throttling"
    )
    assert route53.asked == []


def test_a_network_failure_is_named_by_its_type() -> None:
    route53 = Route53(zones=[EndpointConnectionError(endpoint_url="https://route53")], records={})
    assert build(route53).error == "ListHostedZones: EndpointConnectionError"


def test_a_no_such_hosted_zone_on_the_zone_listing_is_not_skipped() -> None:
    route53 = Route53(zones=[client_error("NoSuchHostedZone", "ListHostedZones")], records={})
    assert build(route53).status is GuardStatus.FAILED


def test_the_failure_is_logged_with_the_step_and_the_detail(caplog: pytest.LogCaptureFixture) -> None:
    route53 = Route53(zones=[client_error("AccessDenied", "ListHostedZones")], records={})
    with caplog.at_level("WARNING"):
        build(route53)
    [logged] = [r for r in caplog.records if r.getMessage() == "dns_guard_failed"]
    assert logged.levelname == "WARNING"
    assert vars(logged)["error"] == "ListHostedZones: AccessDenied"
    assert "AccessDenied" in vars(logged)["detail"]


def test_the_report_entry_carries_status_counts_and_error() -> None:
    failed = DnsIndex(
        GuardStatus.FAILED, {}, zones_read=1, records_read=5, calls=4, error="ListHostedZones: X"
    )
    assert failed.entry() == {
        "status": "failed",
        "zones_read": 1,
        "records_read": 5,
        "calls": 4,
        "error": "ListHostedZones: X",
    }
    assert GUARD_OFF.entry() == {
        "status": "off",
        "zones_read": 0,
        "records_read": 0,
        "calls": 0,
        "error": None,
    }
    assert GUARD_OFF.records_for("203.0.113.10") == ()


@pytest.mark.parametrize(
    ("record_set", "ips"),
    [
        ({"Type": "A", "ResourceRecords": [{"Value": "192.0.2.1"}, {}, {"Value": "  "}]}, ["192.0.2.1"]),
        ({"Type": "A", "ResourceRecords": None}, []),
        ({"Type": "A"}, []),
        ({"ResourceRecords": [{"Value": "192.0.2.1"}]}, []),
        (rrset("x.", "CNAME", " EC2-192-0-2-1.Compute-1.AmazonAWS.com. ", "www.example.org."), ["192.0.2.1"]),
        (
            rrset(
                "x.",
                "CNAME",
                "ec2-192-0-2-1.compute-1.amazonaws.com",
                "ec2-192-0-2-2.compute-1.amazonaws.com",
            ),
            [
                "192.0.2.1",
                "192.0.2.2",
            ],
        ),
    ],
)
def test_pointed_ips_at_the_edges(record_set: dict[str, Any], ips: list[str]) -> None:
    assert pointed_ips(record_set) == ips
