"""The run's DNS index: which Route 53 records point at which IPv4 addresses, read once before any release.

Releasing an address that a record still points to hands the name to whoever gets the address next (a
subdomain takeover), so the janitor reads every hosted zone first. Route 53 is global: the index costs
ListHostedZones pages plus ListResourceRecordSets pages per zone, whatever the number of addresses.

What points at an address:
- an `A` record whose values hold its IP (simple, weighted, latency, failover... routing alike);
- a `CNAME` to the address's EC2 public host name (`ec2-203-0-113-10.compute-1.amazonaws.com`), which
  resolves to the same IP.
Alias records are not read: their target is an AWS resource's name (a load balancer, a distribution, a
bucket, another record), never an Elastic IP.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from eip_janitor.report import AWS_FAILURES, DnsGuardEntry, DnsRecordEntry, failure_code
from groundskeeper.errors import error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

# A zone deleted between the two listings serves no record any more: nothing of it can dangle.
NO_SUCH_HOSTED_ZONE = "NoSuchHostedZone"
# ec2-203-0-113-10.compute-1.amazonaws.com, ec2-203-0-113-10.eu-west-1.compute.amazonaws.com(.cn)
_EC2_HOST_NAME = re.compile(
    r"^ec2-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\.(?:[a-z0-9-]+\.)?compute(?:-1)?\.amazonaws\.com(?:\.cn)?\.?$"
)
# Route 53 returns characters outside [a-z0-9-_.] as octal escapes: "\052.example.com." is "*.example.com.".
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class GuardStatus(StrEnum):
    OK = "ok"  # every zone was read: the index is complete
    FAILED = "failed"  # some zone could not be read: nothing may be released this run
    OFF = "off"  # DNS_GUARD=off: the janitor releases without looking at DNS


@dataclass(frozen=True)
class DnsIndex:
    """Public IPv4 address -> the records that point at it; plain data, so the decisions stay pure."""

    status: GuardStatus
    by_ip: Mapping[str, tuple[DnsRecordEntry, ...]] = field(default_factory=dict)
    zones_read: int = 0
    records_read: int = 0
    calls: int = 0
    error: str | None = None

    def records_for(self, ip: str) -> tuple[DnsRecordEntry, ...]:
        return self.by_ip.get(ip, ())

    def entry(self) -> DnsGuardEntry:
        return {
            "status": str(self.status),
            "zones_read": self.zones_read,
            "records_read": self.records_read,
            "calls": self.calls,
            "error": self.error,
        }


GUARD_OFF = DnsIndex(GuardStatus.OFF)


def record_name(raw: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), raw)


def pointed_ips(record_set: Mapping[str, Any]) -> list[str]:
    """The IPv4 addresses one record set points at; [] for aliases and every other type."""
    values = [str(value.get("Value", "")) for value in record_set.get("ResourceRecords") or []]
    if record_set.get("Type") == "A":
        return [value.strip() for value in values if value.strip()]
    if record_set.get("Type") == "CNAME":
        found = (_EC2_HOST_NAME.match(value.strip().lower()) for value in values)
        return [".".join(match.groups()) for match in found if match]
    return []


@dataclass
class _Reading:
    """The index while it is being read: what a failure part-way through still reports."""

    calls: int = 0
    zones_read: int = 0
    records_read: int = 0
    by_ip: defaultdict[str, list[DnsRecordEntry]] = field(default_factory=lambda: defaultdict(list))

    def read_zone(self, route53: Route53Client, zone: Mapping[str, Any]) -> None:
        zone_id = str(zone["Id"]).rsplit("/", 1)[-1]
        private = bool(zone.get("Config", {}).get("PrivateZone"))
        pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
        try:
            for page in pages:
                self.calls += 1
                for record_set in page["ResourceRecordSets"]:
                    self.records_read += 1
                    for ip in pointed_ips(record_set):
                        self.by_ip[ip].append(
                            {
                                "name": record_name(record_set["Name"]),
                                "type": record_set["Type"],
                                "zone": record_name(str(zone["Name"])),
                                "zone_id": zone_id,
                                "private": private,
                            }
                        )
        except AWS_FAILURES as exc:
            if error_code(exc) != NO_SUCH_HOSTED_ZONE:
                raise
        self.zones_read += 1


def build_dns_index(route53: Route53Client) -> DnsIndex:
    """Read every hosted zone, public and private, and every record set of each, with paginators.

    Fails closed: any zone that cannot be read (AccessDenied, throttled after the client's retries, any
    other AWS error) gives a FAILED index, and a FAILED index lets nothing be released."""
    reading = _Reading()
    zone: Mapping[str, Any] = {}
    try:
        zones = []
        for page in route53.get_paginator("list_hosted_zones").paginate():
            reading.calls += 1
            zones.extend(page["HostedZones"])
        for zone in zones:
            reading.read_zone(route53, zone)
    except AWS_FAILURES as exc:
        step = f"ListResourceRecordSets on zone {zone['Id']} ({zone['Name']})" if zone else "ListHostedZones"
        error = f"{step}: {failure_code(exc)}"
        logger.warning("dns_guard_failed", extra={"error": error, "detail": str(exc)})
        return DnsIndex(
            GuardStatus.FAILED, {}, reading.zones_read, reading.records_read, reading.calls, error
        )
    by_ip = {ip: tuple(found) for ip, found in reading.by_ip.items()}
    return DnsIndex(GuardStatus.OK, by_ip, reading.zones_read, reading.records_read, reading.calls)
