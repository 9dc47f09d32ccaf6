"""A six-address fleet (one of each kind), for real and as a dry run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.eip_janitor.conftest import IDLE, KEEP, Fleet, days_ago, ec2_error, janitor_ec2

Run = Callable[..., dict[str, Any]]


@pytest.fixture
def six(fleet: Fleet) -> dict[str, str]:
    ids = {
        "idle": fleet.allocate(),
        "associated": fleet.allocate(),
        "exempt": fleet.allocate(**{KEEP: "db failover", IDLE: days_ago(30)}),
        "old": fleet.allocate(Team="web", **{IDLE: days_ago(10)}),
        "reassociated": fleet.allocate(**{IDLE: days_ago(10)}),
        "managed": fleet.allocate(**{IDLE: days_ago(30)}),
    }
    fleet.associate(ids["associated"])
    fleet.associate(ids["reassociated"])

    # moto has no ServiceManaged field: add it to the janitor's view of the address.
    def service_managed(parsed: dict[str, Any], **_: Any) -> None:
        for address in parsed.get("Addresses", []):
            if address["AllocationId"] == ids["managed"]:
                address["ServiceManaged"] = "alb"

    janitor_ec2().meta.events.register("after-call.ec2.DescribeAddresses", service_managed)
    return ids


def test_real_run_marks_releases_unmarks_and_leaves_the_rest(
    six: dict[str, str], fleet: Fleet, run_janitor: Run
) -> None:
    before = fleet.addresses()

    report = run_janitor()

    region = report["regions"]["us-east-1"]
    assert report["dry_run"] is False
    assert region["marked"] == [six["idle"]]
    assert region["released"] == [six["old"]]
    assert region["unmarked"] == [six["reassociated"]]
    assert region["exempt"] == [six["exempt"]]
    assert region["skipped"] == [{"allocation_id": six["managed"], "reason": "service-managed:alb"}]
    assert (region["would_release"], region["deferred"], region["errors"]) == ([], [], [])
    assert report["released_count"] == 1
    assert report["estimated_monthly_savings_usd"] == pytest.approx(3.6)

    after = fleet.addresses()
    assert six["old"] not in after
    assert IDLE in fleet.tags(six["idle"])
    assert IDLE not in fleet.tags(six["reassociated"])
    assert after[six["reassociated"]].get("AssociationId")
    for untouched in ("associated", "exempt", "managed"):
        assert after[six[untouched]] == before[six[untouched]]


def test_dry_run_changes_nothing_and_reports_what_it_would_do(
    six: dict[str, str], fleet: Fleet, run_janitor: Run
) -> None:
    before = fleet.addresses()

    report = run_janitor(dry_run=True)

    assert fleet.addresses() == before
    region = report["regions"]["us-east-1"]
    assert report["dry_run"] is True
    assert region["marked"] == [six["idle"]]
    assert region["would_release"] == [six["old"]]
    assert region["unmarked"] == [six["reassociated"]]
    assert (region["released"], report["released_count"]) == ([], 0)
    assert report["estimated_monthly_savings_usd"] == pytest.approx(3.6)
    check = report["permission_check"]
    assert (check["allowed"], check["code"], check["allocation_id"]) == (True, "DryRunOperation", six["old"])


def test_dry_run_reports_a_denied_release_permission(fleet: Fleet, run_janitor: Run) -> None:
    fleet.allocate(**{IDLE: days_ago(10)})
    janitor_ec2().meta.events.register(
        "before-call.ec2.ReleaseAddress", lambda **_: ec2_error("UnauthorizedOperation", 403)
    )
    check = run_janitor(dry_run=True)["permission_check"]
    assert (check["allowed"], check["code"]) == (False, "UnauthorizedOperation")


def test_no_grace_period_releases_idle_addresses_without_tagging_first(
    fleet: Fleet, run_janitor: Run
) -> None:
    idle = fleet.allocate()
    kept = fleet.allocate()
    fleet.associate(kept)
    janitor_ec2().meta.events.register("before-call.ec2.CreateTags", _fail_if_called)

    report = run_janitor(grace_period_hours=0)

    assert report["regions"]["us-east-1"]["released"] == [idle]
    assert list(fleet.addresses()) == [kept]


def _fail_if_called(**_: Any) -> None:
    raise AssertionError("the janitor tagged an address it should have released at once")
