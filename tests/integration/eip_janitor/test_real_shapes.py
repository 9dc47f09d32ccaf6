"""The janitor on addresses as real AWS describes them: moto leaves out NetworkBorderGroup and
PublicIpv4Pool, answers "" for the association keys of a free address and [] for its missing tags. The
answers are reshaped by an `after-call` hook (tests/integration/real_shapes.py).

A real release names the address's network border group, as DescribeAddresses gave it; AWS answers a wrong
one with InvalidAddress.NotFound, which the janitor would take for an address someone else released."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from tests.integration.cors_auditor.conftest import JOURNAL_TABLE, create_journal_table, refuse
from tests.integration.eip_janitor.conftest import IDLE, Fleet, days_ago, janitor_ec2
from tests.integration.real_shapes import real_addresses, requests

Run = Callable[..., dict[str, Any]]
RUN_SCOPE = "eip-janitor#7bf73129-1428-4cd3-a780-95db273d1602"  # the id of events/schedule-eip-janitor.json
LOCAL_ZONE = "us-east-1-bos-1"  # the network border group of the Boston Local Zone
BYOIP_POOL = "ipv4pool-ec2-0123456789abcdef0"


def refuse_a_wrong_border_group(ec2: Any, border_groups: Mapping[str, str]) -> None:
    """ReleaseAddress as AWS answers it: a NetworkBorderGroup that is not the address's is
    InvalidAddress.NotFound (EC2 API reference, ReleaseAddress)."""

    def wrong(params: dict[str, Any]) -> bool:
        body = params["body"]  # EC2 speaks the query protocol: the call's parameters, serialised
        given = body.get("NetworkBorderGroup")
        return given is not None and given != border_groups[body["AllocationId"]]

    refuse(ec2, "ReleaseAddress", "InvalidAddress.NotFound", when=wrong)


def test_each_release_names_the_network_border_group_its_address_was_described_with(
    fleet: Fleet, run_janitor: Run, caplog: pytest.LogCaptureFixture
) -> None:
    create_journal_table()
    home = fleet.allocate(**{IDLE: days_ago(30)})
    local = fleet.allocate(**{IDLE: days_ago(30)})
    border_groups = {home: "us-east-1", local: LOCAL_ZONE}
    ec2 = janitor_ec2()
    real_addresses(ec2, {local: {"NetworkBorderGroup": LOCAL_ZONE}})
    refuse_a_wrong_border_group(ec2, border_groups)
    releases = requests(ec2, "ReleaseAddress")

    with caplog.at_level("INFO"):
        report = run_janitor(journal_table=JOURNAL_TABLE)

    region = report["regions"]["us-east-1"]
    assert sorted(region["released"]) == sorted(border_groups)
    assert (region["skipped"], region["errors"]) == ([], [])
    assert report["released_count"] == 2
    assert {r["AllocationId"]: r.get("NetworkBorderGroup") for r in releases} == border_groups
    assert not set(fleet.addresses()) & set(border_groups)
    # The recovery line and the journal's before-state keep it too: an address is recovered in its group.
    lines = [vars(r) for r in caplog.records if r.getMessage() == "eip_released"]
    assert {line["allocation_id"]: line["network_border_group"] for line in lines} == border_groups
    records = ActionJournal(client("dynamodb"), JOURNAL_TABLE).records(RUN_SCOPE)
    assert {r.resource: (r.status, r.before["network_border_group"]) for r in records} == {
        home: ("done", "us-east-1"),
        local: ("done", LOCAL_ZONE),
    }


def test_the_dry_runs_permission_check_names_the_network_border_group(fleet: Fleet, run_janitor: Run) -> None:
    local = fleet.allocate(**{IDLE: days_ago(30)})
    ec2 = janitor_ec2()
    real_addresses(ec2, {local: {"NetworkBorderGroup": LOCAL_ZONE}})
    refuse_a_wrong_border_group(ec2, {local: LOCAL_ZONE})
    asked = requests(ec2, "ReleaseAddress")

    report = run_janitor(dry_run=True)

    assert asked == [{"AllocationId": local, "DryRun": True, "NetworkBorderGroup": LOCAL_ZONE}]
    check = report["permission_check"]
    assert (check["allowed"], check["code"], check["allocation_id"]) == (True, "DryRunOperation", local)
    assert report["regions"]["us-east-1"]["would_release"] == [local]
    assert local in fleet.addresses()


def test_a_fleet_described_as_aws_describes_it_is_decided_as_under_moto(
    fleet: Fleet, run_janitor: Run
) -> None:
    """No Tags key on an untagged address, no InstanceId on a free one or on one attached to a network
    interface, an explicit "amazon" pool: the same decisions. A BYOIP pool's address is never released."""
    ids = {
        "untagged": fleet.allocate(),
        "due": fleet.allocate(Team="web", **{IDLE: days_ago(30)}),
        "byoip": fleet.allocate(**{IDLE: days_ago(30)}),
        "attached": fleet.allocate(),
        "reattached": fleet.allocate(**{IDLE: days_ago(3)}),
    }
    fleet.associate(ids["attached"])
    fleet.associate(ids["reattached"])
    ec2 = janitor_ec2()
    seen: list[dict[str, Any]] = []
    real_addresses(ec2, {ids["byoip"]: {"PublicIpv4Pool": BYOIP_POOL}})
    ec2.meta.events.register(
        "after-call.ec2.DescribeAddresses", lambda parsed, **_: seen.extend(parsed.get("Addresses", []))
    )

    report = run_janitor()

    described = {a["AllocationId"]: a for a in seen}
    assert "Tags" not in described[ids["untagged"]]
    assert "InstanceId" not in described[ids["untagged"]]
    assert "InstanceId" not in described[ids["attached"]]
    assert described[ids["attached"]]["AssociationId"]
    assert described[ids["due"]]["PublicIpv4Pool"] == "amazon"
    region = report["regions"]["us-east-1"]
    assert region["marked"] == [ids["untagged"]]
    assert region["released"] == [ids["due"]]
    assert region["unmarked"] == [ids["reattached"]]
    assert region["skipped"] == [{"allocation_id": ids["byoip"], "reason": f"byoip:{BYOIP_POOL}"}]
    assert (region["exempt"], region["errors"]) == ([], [])
    assert sorted(fleet.addresses()) == sorted(a for k, a in ids.items() if k != "due")
