"""The region sweep, one step at a time, without moto: what an earlier attempt of the run left in the
journal and how it is reported, the DNS guard's hold-back and its log line, the re-check and the
ReleaseAddress call (a Local Zone's address by its network border group; a release whose answer never came),
the sweep's tag calls, and a dry-run memory that cannot be read or written. EC2 is botocore's Stubber, which
checks each call's parameters against EC2's API model and against what the test expects; the log lines are
Powertools' records, field by field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from eip_janitor.address_sweep import (
    ALREADY_RELEASED,
    UNCONFIRMED,
    IdleMemory,
    RegionSurvey,
    account_for_earlier,
    hold_back_for_dns,
    release_chosen,
    survey_region,
)
from eip_janitor.decisions import Action, decide
from eip_janitor.dns_index import GUARD_OFF, DnsIndex, GuardStatus
from eip_janitor.release_budget import Candidate
from eip_janitor.releases import Releases
from eip_janitor.report import DnsRecordEntry, RegionReport
from eip_janitor.run_ledger import LedgerUnavailable, RunLedger
from eip_janitor.settings import Settings
from groundskeeper.action_journal import ADDRESS_RELEASE, ActionRecord
from tests.unit.eip_janitor.addresses import NOW, address, idle_for

REAL = Settings(dry_run=False)
DUE_TAGS = idle_for(24 * 30)


def record(
    resource: str, status: str, *, region: str = "us-east-1", error: str | None = None
) -> ActionRecord:
    """A release an earlier attempt of the run wrote down, with the before-state the journal keeps."""
    before = {
        "public_ip": "203.0.113.10",
        "allocation_id": resource,
        "region": region,
        "network_border_group": region,
        "tags": {"team": "web"},
        "idle_since": "2026-10-01T00:00:00Z",
    }
    return ActionRecord(
        scope="eip-janitor#run-1",
        action=f"{ADDRESS_RELEASE}#{resource}",
        kind=ADDRESS_RELEASE,
        resource=resource,
        status=status,  # type: ignore[arg-type]
        before=before,
        error=error,
    )


def survey(region: str, present: set[str] | None) -> RegionSurvey:
    return RegionSurvey(region, RegionReport(), [], present)


def logged(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    return [vars(r) for r in caplog.records if r.getMessage() == message]


# --- what earlier attempts of the run wrote down ----------------------------------------------------------


def test_a_release_done_earlier_is_reported_in_its_region_even_one_this_attempt_did_not_sweep() -> None:
    reports = {"us-east-1": RegionReport()}
    releases = Releases(
        None, [record("eipalloc-a", "done"), record("eipalloc-b", "done", region="eu-west-1")]
    )

    account_for_earlier(releases, {"us-east-1": survey("us-east-1", set())}, reports)

    assert reports["us-east-1"].released_earlier == ["eipalloc-a"]
    assert reports["eu-west-1"].released_earlier == ["eipalloc-b"]
    assert (reports["us-east-1"].skipped, reports["us-east-1"].errors) == ([], [])


def test_a_release_refused_earlier_is_reported_with_its_code_or_as_already_released() -> None:
    reports: dict[str, RegionReport] = {}
    releases = Releases(
        None,
        [
            record("eipalloc-a", "failed", error="InvalidAllocationID.NotFound"),
            record("eipalloc-b", "failed", error="InvalidAddress.NotFound"),
            record("eipalloc-c", "failed", error="AuthFailure"),
            record("eipalloc-d", "failed"),
        ],
    )

    account_for_earlier(releases, {}, reports)

    (report,) = reports.values()
    assert report.skipped == [
        {"allocation_id": "eipalloc-a", "reason": ALREADY_RELEASED},
        {"allocation_id": "eipalloc-b", "reason": ALREADY_RELEASED},
    ]
    assert report.errors == [
        {"allocation_id": "eipalloc-c", "code": "AuthFailure"},
        {"allocation_id": "eipalloc-d", "code": "Failed"},
    ]
    assert report.released_earlier == []


def test_an_intent_whose_address_is_gone_is_released_earlier_with_its_recovery_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reports: dict[str, RegionReport] = {}
    releases = Releases(None, [record("eipalloc-a", "intended", region="eu-west-1")])

    with caplog.at_level("INFO"):
        account_for_earlier(releases, {"eu-west-1": survey("eu-west-1", {"eipalloc-other"})}, reports)

    assert reports["eu-west-1"].released_earlier == ["eipalloc-a"]
    assert reports["eu-west-1"].skipped == []
    (line,) = logged(caplog, "eip_released")
    assert {key: line[key] for key in ("public_ip", "allocation_id", "region", "network_border_group")} == {
        "public_ip": "203.0.113.10",
        "allocation_id": "eipalloc-a",
        "region": "eu-west-1",
        "network_border_group": "eu-west-1",
    }
    assert (line["tags"], line["idle_since"]) == ({"team": "web"}, "2026-10-01T00:00:00Z")
    assert line["confirmed_by"] == "address gone on retry"
    assert line["time"].endswith("Z")


@pytest.mark.parametrize(
    "surveys",
    [
        pytest.param({"us-east-1": survey("us-east-1", {"eipalloc-a"})}, id="still listed"),
        pytest.param({"us-east-1": survey("us-east-1", None)}, id="region not described"),
        pytest.param({}, id="region not swept"),
    ],
)
def test_an_intent_whose_address_may_still_be_there_is_unconfirmed_and_logs_no_release(
    surveys: dict[str, RegionSurvey], caplog: pytest.LogCaptureFixture
) -> None:
    reports: dict[str, RegionReport] = {}
    with caplog.at_level("INFO"):
        account_for_earlier(Releases(None, [record("eipalloc-a", "intended")]), surveys, reports)

    report = reports["us-east-1"]
    assert report.skipped == [{"allocation_id": "eipalloc-a", "reason": UNCONFIRMED}]
    assert report.released_earlier == []
    assert logged(caplog, "eip_released") == []


# --- the DNS guard --------------------------------------------------------------------------------------


def dns_record(name: str) -> DnsRecordEntry:
    return {"name": name, "type": "A", "zone": "example.com.", "zone_id": "Z1", "private": False}


def candidate(allocation_id: str, public_ip: str, region: str = "eu-west-1") -> Candidate:
    entry = address(allocation_id, tags=DUE_TAGS, PublicIp=public_ip)
    decision = decide(entry, NOW, REAL)
    assert decision.action is Action.RELEASE
    return Candidate(region, decision, entry)


def test_an_address_a_record_points_at_is_held_back_listed_and_logged_with_its_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    www = dns_record("www.example.com.")
    dns = DnsIndex(GuardStatus.OK, {"203.0.113.10": (www,)})
    named, free = candidate("eipalloc-named", "203.0.113.10"), candidate("eipalloc-free", "198.51.100.7")
    found = RegionSurvey("eu-west-1", RegionReport(), [named, free])

    with caplog.at_level("INFO"):
        hold_back_for_dns(found, dns)

    assert found.candidates == [free]
    assert found.report.dns_protected == [
        {"allocation_id": "eipalloc-named", "public_ip": "203.0.113.10", "records": [www]}
    ]
    assert found.report.skipped == []
    (line,) = logged(caplog, "eip_dns_protected")
    assert {key: line[key] for key in ("allocation_id", "public_ip", "region", "records")} == {
        "allocation_id": "eipalloc-named",
        "public_ip": "203.0.113.10",
        "region": "eu-west-1",
        "records": [www],
    }


def test_with_a_zone_unread_every_candidate_is_skipped_with_the_guards_error() -> None:
    dns = DnsIndex(GuardStatus.FAILED, error="ListHostedZones: AccessDenied")
    found = RegionSurvey("eu-west-1", RegionReport(), [candidate("eipalloc-a", "198.51.100.7")])

    hold_back_for_dns(found, dns)

    assert found.candidates == []
    assert found.report.skipped == [
        {"allocation_id": "eipalloc-a", "reason": "DNS guard failed: ListHostedZones: AccessDenied"}
    ]
    assert found.report.dns_protected == []


# --- the release call -------------------------------------------------------------------------------------


@pytest.fixture
def ec2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def rechecked(allocation_id: str) -> dict[str, Any]:
    return {"Filters": [{"Name": "allocation-id", "Values": [allocation_id]}]}


def test_an_address_of_a_local_zone_is_released_from_its_network_border_group(
    ec2: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = ec2
    zone = "us-east-1-wl1-bos-wlz-1"
    entry = address("eipalloc-wl", tags=DUE_TAGS, NetworkBorderGroup=zone)
    chosen = Candidate("us-east-1", decide(entry, NOW, REAL), entry)
    stubber.add_response("describe_addresses", {"Addresses": [entry]}, rechecked("eipalloc-wl"))
    stubber.add_response("release_address", {}, {"AllocationId": "eipalloc-wl", "NetworkBorderGroup": zone})
    report = RegionReport()

    with caplog.at_level("INFO"):
        release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert (report.released, report.skipped, report.errors) == (["eipalloc-wl"], [], [])
    (line,) = logged(caplog, "eip_released")
    assert (line["allocation_id"], line["region"], line["network_border_group"]) == (
        "eipalloc-wl",
        "us-east-1",
        zone,
    )


def test_an_address_without_a_network_border_group_is_released_by_its_allocation_id_alone(
    ec2: tuple[Any, Stubber],
) -> None:
    client, stubber = ec2
    entry = address("eipalloc-a", tags=DUE_TAGS)
    del entry["NetworkBorderGroup"]
    chosen = Candidate("us-east-1", decide(entry, NOW, REAL), entry)
    stubber.add_response("describe_addresses", {"Addresses": [entry]}, rechecked("eipalloc-a"))
    stubber.add_response("release_address", {}, {"AllocationId": "eipalloc-a"})
    report = RegionReport()

    release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert report.released == ["eipalloc-a"]


# --- a release whose answer never came --------------------------------------------------------------------


def no_answer(**_: Any) -> None:
    """ReleaseAddress sent, and no answer (the Stubber cannot raise a network error)."""
    raise ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")


@pytest.fixture
def unanswered(ec2: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Stubber, Candidate]:
    client, stubber = ec2
    entry = address("eipalloc-a", tags=DUE_TAGS)
    stubber.add_response("describe_addresses", {"Addresses": [entry]}, rechecked("eipalloc-a"))
    monkeypatch.setattr(client, "release_address", no_answer)
    return client, stubber, Candidate("us-east-1", decide(entry, NOW, REAL), entry)


def test_a_release_without_an_answer_is_ours_when_ec2_then_lists_the_address_no_more(
    unanswered: tuple[Any, Stubber, Candidate], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber, chosen = unanswered
    stubber.add_client_error(
        "describe_addresses",
        "InvalidAllocationID.NotFound",
        expected_params={"AllocationIds": ["eipalloc-a"]},
    )
    report = RegionReport()

    with caplog.at_level("INFO"):
        release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert (report.released, report.errors) == (["eipalloc-a"], [])
    (line,) = logged(caplog, "eip_released")
    assert (line["allocation_id"], line["region"]) == ("eipalloc-a", "us-east-1")


@pytest.mark.parametrize("answer", ["still listed", "throttled"])
def test_a_release_without_an_answer_is_an_error_while_ec2_may_still_list_the_address(
    answer: str, unanswered: tuple[Any, Stubber, Candidate], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber, chosen = unanswered
    asked = {"AllocationIds": ["eipalloc-a"]}
    if answer == "still listed":
        stubber.add_response("describe_addresses", {"Addresses": [chosen.address]}, asked)
    else:
        stubber.add_client_error("describe_addresses", "RequestLimitExceeded", expected_params=asked)
    report = RegionReport()

    with caplog.at_level("INFO"):
        release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert report.released == []
    assert report.errors == [{"allocation_id": "eipalloc-a", "code": "ReadTimeoutError"}]
    assert logged(caplog, "eip_released") == []


def test_a_release_without_an_answer_is_an_error_when_ec2_cannot_be_asked(
    unanswered: tuple[Any, Stubber, Candidate], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, chosen = unanswered
    recheck = client.describe_addresses

    def describe(**params: Any) -> Any:
        if "AllocationIds" in params:
            raise EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")
        return recheck(**params)

    monkeypatch.setattr(client, "describe_addresses", describe)
    report = RegionReport()

    release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert report.released == []
    assert report.errors == [{"allocation_id": "eipalloc-a", "code": "ReadTimeoutError"}]


# --- the sweep's tag calls --------------------------------------------------------------------------------


def test_the_sweep_writes_only_the_idle_tag_and_removes_only_the_idle_tag(ec2: tuple[Any, Stubber]) -> None:
    client, stubber = ec2
    idle = address("eipalloc-idle", tags={"team": "web"}, PublicIp="198.51.100.1")
    back = address(
        "eipalloc-back",
        tags={"team": "db", **idle_for(5)},
        PublicIp="198.51.100.2",
        AssociationId="eipassoc-1",
    )
    due = address("eipalloc-due", tags=DUE_TAGS, PublicIp="198.51.100.3")
    stubber.add_response("describe_addresses", {"Addresses": [idle, back, due]}, {})
    stubber.add_response(
        "create_tags",
        {},
        {
            "Resources": ["eipalloc-idle"],
            "Tags": [{"Key": REAL.idle_tag_key, "Value": "2026-11-22T06:00:00Z"}],
        },
    )
    stubber.add_response(
        "delete_tags", {}, {"Resources": ["eipalloc-back"], "Tags": [{"Key": REAL.idle_tag_key}]}
    )

    found = survey_region(client, "us-east-1", NOW, REAL)

    assert (found.report.marked, found.report.unmarked) == (["eipalloc-idle"], ["eipalloc-back"])
    assert [c.allocation_id for c in found.candidates] == ["eipalloc-due"]
    assert found.present == {"eipalloc-idle", "eipalloc-back", "eipalloc-due"}
    assert (found.report.addresses, found.report.idle, found.report.errors) == (3, 2, [])


@pytest.mark.parametrize(
    ("now_seen", "reason"),
    [
        pytest.param({"tags": {REAL.exempt_tag_key: "db", **DUE_TAGS}}, "exempt since sweep", id="exempt"),
        pytest.param(
            {"tags": DUE_TAGS, "ServiceManaged": "alb"}, "service-managed:alb", id="service-managed"
        ),
        pytest.param(
            {"tags": idle_for(5)}, "idle tag changed since sweep (idle since 2026-11-22T01:00:00Z)", id="wait"
        ),
    ],
)
def test_an_address_that_changed_since_the_sweep_is_skipped_with_what_changed(
    now_seen: dict[str, Any], reason: str, ec2: tuple[Any, Stubber]
) -> None:
    client, stubber = ec2
    swept = address("eipalloc-a", tags=DUE_TAGS)
    chosen = Candidate("us-east-1", decide(swept, NOW, REAL), swept)
    stubber.add_response(
        "describe_addresses", {"Addresses": [address("eipalloc-a", **now_seen)]}, rechecked("eipalloc-a")
    )
    report = RegionReport()

    release_chosen(client, [chosen], NOW, REAL, report, dns=GUARD_OFF)

    assert report.skipped == [{"allocation_id": "eipalloc-a", "reason": reason}]
    assert (report.released, report.errors) == ([], [])


# --- the dry-run memory, when the ledger fails ------------------------------------------------------------


class Ledger:
    """The run ledger's memory methods, failing as told."""

    def __init__(self, *, read: Exception | None = None, write: Exception | None = None) -> None:
        self.read, self.write = read, write
        self.written: list[tuple[Any, ...]] = []

    def remembered(self, account: str, region: str, allocation_ids: list[str]) -> dict[str, Any]:
        if self.read is not None:
            raise self.read
        return {}

    def remember(self, *args: Any) -> None:
        self.written.append(args)
        if self.write is not None:
            raise self.write


def dry_sweep(ec2: tuple[Any, Stubber], ledger: Ledger) -> RegionReport:
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address("eipalloc-new")]}, {})
    memory = IdleMemory(cast(RunLedger, ledger), "111111111111")
    return survey_region(client, "eu-west-1", NOW, Settings(dry_run=True), memory).report


def test_a_memory_that_cannot_be_read_is_the_regions_error_and_is_not_written(
    ec2: tuple[Any, Stubber],
) -> None:
    ledger = Ledger(read=LedgerUnavailable("BatchGetItem left keys unprocessed after 5 attempts"))

    report = dry_sweep(ec2, ledger)

    assert report.errors == [{"allocation_id": None, "code": "LedgerUnavailable"}]
    assert report.marked == ["eipalloc-new"]
    assert ledger.written == []


def test_a_memory_that_cannot_be_written_is_the_regions_error(ec2: tuple[Any, Stubber]) -> None:
    ledger = Ledger(write=LedgerUnavailable("BatchWriteItem left items unprocessed after 5 attempts"))

    report = dry_sweep(ec2, ledger)

    assert report.errors == [{"allocation_id": None, "code": "LedgerUnavailable"}]
    assert ledger.written == [("111111111111", "eu-west-1", {"eipalloc-new": NOW}, [], NOW)]
