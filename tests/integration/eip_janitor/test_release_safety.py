"""What protects an address at release time: one re-check per region, and per-address errors (never fatal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.eip_janitor.conftest import (
    IDLE,
    Fleet,
    call_params,
    days_ago,
    ec2_error,
    janitor_ec2,
    rechecked_ids,
)

Run = Callable[..., dict[str, Any]]


def test_address_associated_between_sweep_and_release_is_not_released(fleet: Fleet, run_janitor: Run) -> None:
    victim = fleet.allocate(**{IDLE: days_ago(10)})
    other = fleet.allocate(**{IDLE: days_ago(10)})

    # The sweep saw both idle; just before the region's re-check, someone attaches the victim.
    def attach_first(params: dict[str, Any], **_: Any) -> None:
        if victim in rechecked_ids(params):
            fleet.associate(victim)

    janitor_ec2().meta.events.register("provide-client-params.ec2.DescribeAddresses", attach_first)

    region = run_janitor()["regions"]["us-east-1"]

    assert region["released"] == [other]
    assert region["skipped"] == [{"allocation_id": victim, "reason": "associated since sweep"}]
    # moto would have released it silently: only our re-check kept it.
    assert fleet.addresses()[victim].get("AssociationId")


def test_address_released_by_someone_else_meanwhile_is_skipped_not_an_error(
    fleet: Fleet, run_janitor: Run
) -> None:
    gone = fleet.allocate(**{IDLE: days_ago(10)})

    kept = fleet.allocate(**{IDLE: days_ago(10)})

    # Asked by AllocationIds, EC2 would fail the whole re-check with InvalidAllocationID.NotFound;
    # the filter answers with the addresses that still exist, and the other one is released.
    def release_it_first(params: dict[str, Any], **_: Any) -> None:
        if gone in rechecked_ids(params):
            fleet.ec2().release_address(AllocationId=gone)

    janitor_ec2().meta.events.register("provide-client-params.ec2.DescribeAddresses", release_it_first)

    report = run_janitor()
    region = report["regions"]["us-east-1"]
    assert region["skipped"] == [{"allocation_id": gone, "reason": "already released"}]
    assert (region["errors"], region["released"]) == ([], [kept])


def test_one_recheck_per_region_whatever_the_number_of_releases(fleet: Fleet, run_janitor: Run) -> None:
    ids = [fleet.allocate(**{IDLE: days_ago(10 + n)}) for n in range(6)]
    calls: list[str] = []
    janitor_ec2().meta.events.register("before-call.ec2", lambda model, **_: calls.append(model.name))

    region = run_janitor()["regions"]["us-east-1"]

    assert sorted(region["released"]) == sorted(ids)
    # The sweep's describe, one re-check for the six chosen addresses, then one release each.
    assert calls == ["DescribeAddresses", "DescribeAddresses", *["ReleaseAddress"] * 6]


def test_a_failed_recheck_is_each_addresses_error_and_releases_nothing(
    fleet: Fleet, run_janitor: Run
) -> None:
    ids = sorted(fleet.allocate(**{IDLE: days_ago(10)}) for _ in range(2))

    def refuse_recheck(params: dict[str, Any], **_: Any) -> Any:
        rechecking = any(key.startswith("Filter") for key in call_params(params))
        return ec2_error("RequestLimitExceeded", 503) if rechecking else None

    janitor_ec2().meta.events.register("before-call.ec2.DescribeAddresses", refuse_recheck)
    report = run_janitor()
    region = report["regions"]["us-east-1"]
    assert sorted(e["allocation_id"] for e in region["errors"]) == ids
    assert {e["code"] for e in region["errors"]} == {"RequestLimitExceeded"}
    assert (report["released_count"], sorted(fleet.addresses())) == (0, ids)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InvalidAddress.PtrSet", 400),
        ("InvalidAddress.Locked", 400),
        ("InvalidIPAddress.InUse", 400),
        ("UnauthorizedOperation", 403),
    ],
)
def test_release_error_on_one_address_is_reported_and_the_others_are_released(
    fleet: Fleet, run_janitor: Run, code: str, status: int
) -> None:
    ids = [fleet.allocate(**{IDLE: days_ago(10 + n)}) for n in range(3)]
    stuck = ids[1]
    janitor_ec2().meta.events.register(
        "before-call.ec2.ReleaseAddress",
        lambda params, **_: ec2_error(code, status) if call_params(params)["AllocationId"] == stuck else None,
    )

    report = run_janitor()

    region = report["regions"]["us-east-1"]
    assert sorted(region["released"]) == sorted([ids[0], ids[2]])
    assert region["errors"] == [{"allocation_id": stuck, "code": code}]
    assert (report["released_count"], report["error_count"]) == (2, 1)
    assert report["estimated_monthly_savings_usd"] == pytest.approx(7.2)
    assert list(fleet.addresses()) == [stuck]


def test_not_found_on_release_means_already_gone(fleet: Fleet, run_janitor: Run) -> None:
    gone = fleet.allocate(**{IDLE: days_ago(10)})
    janitor_ec2().meta.events.register(
        "before-call.ec2.ReleaseAddress", lambda **_: ec2_error("InvalidAllocationID.NotFound")
    )
    region = run_janitor()["regions"]["us-east-1"]
    assert region["skipped"] == [{"allocation_id": gone, "reason": "already released"}]
    assert region["errors"] == []


def test_failing_tag_batch_is_retried_per_address_so_each_error_names_its_address(
    fleet: Fleet, run_janitor: Run
) -> None:
    ids = [fleet.allocate() for _ in range(3)]
    locked = ids[0]

    def refuse_locked(params: dict[str, Any], **_: Any) -> Any:
        resources = [v for k, v in call_params(params).items() if k.startswith("ResourceId")]
        return ec2_error("UnauthorizedOperation", 403) if locked in resources else None

    janitor_ec2().meta.events.register("before-call.ec2.CreateTags", refuse_locked)
    region = run_janitor()["regions"]["us-east-1"]
    assert sorted(region["marked"]) == sorted(ids[1:])
    assert region["errors"] == [{"allocation_id": locked, "code": "UnauthorizedOperation"}]
    assert IDLE not in fleet.tags(locked)
    assert all(IDLE in fleet.tags(marked) for marked in ids[1:])


def test_a_region_that_cannot_be_read_does_not_stop_the_others(fleet: Fleet, run_janitor: Run) -> None:
    released = fleet.allocate("eu-west-1", **{IDLE: days_ago(10)})
    janitor_ec2("us-east-1").meta.events.register(
        "before-call.ec2.DescribeAddresses", lambda **_: ec2_error("UnauthorizedOperation", 403)
    )
    report = run_janitor(regions=("us-east-1", "eu-west-1"))
    assert report["regions"]["us-east-1"]["errors"] == [
        {"allocation_id": None, "code": "UnauthorizedOperation"}
    ]
    assert report["regions"]["eu-west-1"]["released"] == [released]
