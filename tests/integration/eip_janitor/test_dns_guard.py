"""The DNS guard under moto: an address a Route 53 record points at is never released (subdomain takeover)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from email_sender.template_store import check_template, load_bundled_template
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from tests.integration.eip_janitor.conftest import IDLE, Fleet, days_ago, ec2_error
from tests.integration.real_shapes import reshape

Run = Callable[..., dict[str, Any]]
REGIONS = ("us-east-1", "eu-west-1")


class Zones:
    """Seeds hosted zones and A records through a plain moto client (not the janitor's cached one)."""

    def __init__(self, fleet: Fleet) -> None:
        self.route53 = boto3.client("route53", region_name="us-east-1")
        self.fleet = fleet

    def public(self, name: str) -> str:
        zone = self.route53.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]
        return str(zone["Id"]).rsplit("/", 1)[-1]

    def private(self, name: str, region: str = "us-east-1") -> str:
        vpc = self.fleet.ec2(region).create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        zone = self.route53.create_hosted_zone(
            Name=name,
            CallerReference=name,
            HostedZoneConfig={"PrivateZone": True, "Comment": "private"},
            VPC={"VPCRegion": region, "VPCId": vpc},
        )["HostedZone"]
        return str(zone["Id"]).rsplit("/", 1)[-1]

    def point(self, zone_id: str, name: str, *ips: str, action: str = "UPSERT", kind: str = "A") -> None:
        change = {
            "Action": action,
            "ResourceRecordSet": {
                "Name": name,
                "Type": kind,
                "TTL": 300,
                "ResourceRecords": [{"Value": ip} for ip in ips],
            },
        }
        self.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})


@pytest.fixture
def zones(fleet: Fleet) -> Zones:
    return Zones(fleet)


def ip_of(fleet: Fleet, allocation_id: str, region: str = "us-east-1") -> str:
    return str(fleet.addresses(region)[allocation_id]["PublicIp"])


def test_public_and_private_zones_naming_one_ip_hold_it_back_with_every_record(
    fleet: Fleet, zones: Zones, run_janitor: Run
) -> None:
    idle_since = days_ago(30)
    named = fleet.allocate(**{IDLE: idle_since})
    free = fleet.allocate(**{IDLE: idle_since})
    ip = ip_of(fleet, named)
    public, private = zones.public("example.com"), zones.private("corp.internal")
    zones.point(public, "www.example.com", ip)
    zones.point(public, "shop.example.com", "192.0.2.1", ip)  # one of several values
    zones.point(private, "app.corp.internal", ip)
    zones.point(zones.public("other.example"), "mail.other.example", "192.0.2.2")

    report = run_janitor()

    region = report["regions"]["us-east-1"]
    assert region["released"] == [free]
    (held,) = region["dns_protected"]
    assert (held["allocation_id"], held["public_ip"]) == (named, ip)
    assert sorted((r["name"], r["zone"], r["private"]) for r in held["records"]) == [
        ("app.corp.internal.", "corp.internal.", True),
        ("shop.example.com.", "example.com.", False),
        ("www.example.com.", "example.com.", False),
    ]
    assert report["dns_protected_count"] == 1
    assert report["dns_guard"]["status"] == "ok"
    assert report["dns_guard"]["zones_read"] == 3
    # 1 ListHostedZones page + 1 ListResourceRecordSets page per zone, whatever the number of addresses.
    assert report["dns_guard"]["calls"] == 4
    # Kept, and still marked with its original idle tag: the clock is not restarted.
    assert fleet.tags(named)[IDLE] == idle_since


def test_a_cname_to_the_ec2_host_name_holds_the_address_back(
    fleet: Fleet, zones: Zones, run_janitor: Run
) -> None:
    named = fleet.allocate(**{IDLE: days_ago(30)})
    host = "ec2-" + ip_of(fleet, named).replace(".", "-") + ".compute-1.amazonaws.com"
    zones.point(zones.public("example.com"), "legacy.example.com", host, kind="CNAME")

    region = run_janitor()["regions"]["us-east-1"]

    assert region["released"] == []
    assert [r["type"] for r in region["dns_protected"][0]["records"]] == ["CNAME"]


def test_records_as_route_53_lists_them_escaped_weighted_or_alias_hold_back_what_they_name(
    fleet: Fleet, zones: Zones, run_janitor: Run
) -> None:
    """Route 53 lists a wildcard name as `\\052.example.com.` (moto as `*.example.com.`); weighted records
    share a name; an alias record has no ResourceRecords and no TTL."""
    wild, weighted, free = (fleet.allocate(**{IDLE: days_ago(30)}) for _ in range(3))
    zone = zones.public("example.com")
    zones.point(zone, "*.example.com", ip_of(fleet, wild))
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": "api.example.com",
                "Type": "A",
                "SetIdentifier": identifier,
                "Weight": weight,
                "TTL": 60,
                "ResourceRecords": [{"Value": ip}],
            },
        }
        for identifier, weight, ip in (("blue", 90, ip_of(fleet, weighted)), ("green", 10, "192.0.2.7"))
    ]
    changes.append(
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": "lb.example.com",
                "Type": "A",
                "AliasTarget": {
                    "HostedZoneId": "Z35SXDOTRQ7X7K",
                    "DNSName": "dualstack.web-1234567890.us-east-1.elb.amazonaws.com.",
                    "EvaluateTargetHealth": False,
                },
            },
        }
    )
    zones.route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

    def escaped(parsed: dict[str, Any]) -> None:
        for record in parsed["ResourceRecordSets"]:
            record["Name"] = record["Name"].replace("*", "\\052")

    reshape(client("route53"), "ListResourceRecordSets", escaped)

    report = run_janitor()

    region = report["regions"]["us-east-1"]
    assert region["released"] == [free]
    held = {
        h["allocation_id"]: [(r["name"], r["type"]) for r in h["records"]] for h in region["dns_protected"]
    }
    assert held == {wild: [("*.example.com.", "A")], weighted: [("api.example.com.", "A")]}
    assert report["dns_guard"]["status"] == "ok"


def test_once_the_record_is_deleted_the_next_run_releases_the_address(
    fleet: Fleet, zones: Zones, run_janitor: Run
) -> None:
    named = fleet.allocate(**{IDLE: days_ago(30)})
    ip = ip_of(fleet, named)
    zone = zones.public("example.com")
    zones.point(zone, "www.example.com", ip)
    assert run_janitor()["regions"]["us-east-1"]["released"] == []

    zones.point(zone, "www.example.com", ip, action="DELETE")
    report = run_janitor()

    assert report["regions"]["us-east-1"]["released"] == [named]
    assert report["dns_protected_count"] == 0
    assert named not in fleet.addresses()


def test_dry_run_never_lists_a_held_address_as_would_release(
    fleet: Fleet, zones: Zones, run_janitor: Run
) -> None:
    named = fleet.allocate(**{IDLE: days_ago(30)})
    free = fleet.allocate(**{IDLE: days_ago(30)})
    zones.point(zones.public("example.com"), "www.example.com", ip_of(fleet, named))

    report = run_janitor(dry_run=True)

    region = report["regions"]["us-east-1"]
    assert region["would_release"] == [free]
    assert [h["allocation_id"] for h in region["dns_protected"]] == [named]
    assert set(fleet.addresses()) == {named, free}


def test_a_held_address_takes_no_place_under_the_cap(fleet: Fleet, zones: Zones, run_janitor: Run) -> None:
    # The oldest is held by DNS; the cap of one still releases the next oldest.
    oldest = fleet.allocate(**{IDLE: days_ago(40)})
    older = fleet.allocate(**{IDLE: days_ago(30)})
    zones.point(zones.public("example.com"), "www.example.com", ip_of(fleet, oldest))

    region = run_janitor(max_releases_per_run=1)["regions"]["us-east-1"]

    assert (region["released"], region["deferred"]) == ([older], [])


@pytest.mark.parametrize("operation", ["ListResourceRecordSets", "ListHostedZones"])
def test_an_unreadable_zone_fails_closed_in_every_region(
    fleet: Fleet, zones: Zones, run_janitor: Run, operation: str
) -> None:
    due = {region: fleet.allocate(region, **{IDLE: days_ago(30)}) for region in REGIONS}
    zones.public("example.com")
    denied = zones.public("secret.example.com")

    def refuse(model: Any, params: dict[str, Any], **_: Any) -> Any:
        if model.name == operation and (operation == "ListHostedZones" or denied in str(params["url_path"])):
            return ec2_error("AccessDenied", 403)
        return None

    client("route53").meta.events.register("before-call.route53", refuse)
    report = run_janitor(regions=REGIONS)

    assert report["released_count"] == 0
    guard = report["dns_guard"]
    assert guard["status"] == "failed"
    assert guard["error"] is not None and guard["error"].endswith(": AccessDenied")
    if operation == "ListResourceRecordSets":
        assert denied in guard["error"]
    for region, allocation_id in due.items():
        entry = report["regions"][region]
        assert entry["skipped"] == [
            {"allocation_id": allocation_id, "reason": f"DNS guard failed: {guard['error']}"}
        ]
        assert allocation_id in fleet.addresses(region)
    assert run_janitor(regions=REGIONS, dry_run=True)["would_release_count"] == 0


def test_guard_off_releases_without_reading_route53(fleet: Fleet, zones: Zones, run_janitor: Run) -> None:
    named = fleet.allocate(**{IDLE: days_ago(30)})
    zones.point(zones.public("example.com"), "www.example.com", ip_of(fleet, named))

    report = run_janitor(dns_guard=False)

    assert report["regions"]["us-east-1"]["released"] == [named]
    assert report["dns_guard"] == {
        "status": "off",
        "zones_read": 0,
        "records_read": 0,
        "calls": 0,
        "error": None,
    }


def test_the_email_and_the_metric_show_what_dns_held_back(
    fleet: Fleet, zones: Zones, run_janitor: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="emails")["QueueUrl"]
    named = fleet.allocate(**{IDLE: days_ago(30)})
    ip = ip_of(fleet, named)
    zone = zones.public("example.com")
    zones.point(zone, "www.example.com", ip)
    # Route 53 keeps "<" and ">" as octal escapes; the report decodes them, and the HTML must escape them.
    zones.point(zone, "<b>x</b>.example.com", ip)

    run_janitor(notify=Notifier(queue_url, ("ops@example.com",)))

    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    request = json.loads(message["Body"])
    assert request["data"]["dns_protected_count"] == "1"
    template = load_bundled_template(request["template"])
    assert template is not None
    email = check_template(template).render(request["data"])
    for part in (email.text, email.html):
        assert "Held back by DNS" in part
        assert "Delete or repoint the record first" in part
        assert f"{ip} ({named}, us-east-1): " in part
        assert "www.example.com. A in zone example.com. (public)" in part
    assert "<b>x</b>.example.com." in email.text
    assert "&lt;b&gt;x&lt;/b&gt;.example.com." in email.html and "<b>x" not in email.html
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (blob,) = [e for e in emf if "DnsProtectedAddresses" in e]
    assert (sum(blob["DnsProtectedAddresses"]), sum(blob["DnsGuardFailures"])) == (1.0, 0.0)
