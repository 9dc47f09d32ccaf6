"""The report's counts, savings and email data."""

from __future__ import annotations

import pytest

from eip_janitor.report import (
    RegionReport,
    RunOutcome,
    build_report,
    email_data,
    monthly_savings_usd,
    summary_text,
    worth_mailing,
)


def test_savings_is_released_times_price_times_720_hours() -> None:
    assert monthly_savings_usd(1) == pytest.approx(3.6)
    assert monthly_savings_usd(7) == pytest.approx(25.2)


def test_real_run_counts_released_and_dry_run_counts_would_release() -> None:
    regions = {
        "us-east-1": RegionReport(released=["a", "b"], would_release=[], marked=["c"]),
        "eu-west-1": RegionReport(
            released=["d"], errors=[{"allocation_id": "e", "code": "InvalidAddress.PtrSet"}]
        ),
    }
    report = build_report(RunOutcome(False, "run-1", regions), None)
    assert (report["released_count"], report["error_count"], report["marked_count"]) == (3, 1, 1)
    assert report["estimated_monthly_savings_usd"] == pytest.approx(10.8)
    assert list(report["regions"]) == ["eu-west-1", "us-east-1"]
    assert "permission_check" not in report
    assert report["notification_id"] is None

    check = {"action": "ec2:ReleaseAddress", "allowed": True, "code": "DryRunOperation"}
    dry = build_report(
        RunOutcome(True, "r", {"us-east-1": RegionReport(would_release=["a", "b"])}, check), "m-1"
    )
    assert (dry["released_count"], dry["estimated_monthly_savings_usd"]) == (0, pytest.approx(7.2))
    assert dry["permission_check"] == check
    assert dry["notification_id"] == "m-1"


def test_region_entry_has_the_documented_keys() -> None:
    region = RegionReport(addresses=2, idle=1)
    region.skip("eipalloc-1", "already released")
    entry = build_report(RunOutcome(False, "r", {"us-east-1": region}), None)["regions"]["us-east-1"]
    assert list(entry) == [
        "released", "released_earlier", "would_release", "marked", "unmarked", "exempt", "skipped",
        "deferred", "errors", "dns_protected", "idle_addresses", "addresses", "idle",
    ]  # fmt: skip
    assert entry["skipped"] == [{"allocation_id": "eipalloc-1", "reason": "already released"}]


def test_mail_only_when_something_happened_or_failed() -> None:
    quiet = RunOutcome(False, "r", {"us-east-1": RegionReport(marked=["a"])})
    failed = RunOutcome(
        False, "r", {"us-east-1": RegionReport(errors=[{"allocation_id": None, "code": "X"}])}
    )
    assert not worth_mailing(quiet)
    assert worth_mailing(failed)


def test_a_dry_run_that_finds_an_idle_address_mails_it_with_its_date() -> None:
    idle = {
        "allocation_id": "eipalloc-1",
        "public_ip": "198.51.100.7",
        "idle_since": "2026-03-02T06:00:00Z",
        "release_after": "2026-03-09T06:00:00Z",
    }
    dry = RunOutcome(
        True, "r", {"us-east-1": RegionReport(marked=["eipalloc-1"], idle=1, idle_addresses=[idle])}
    )
    real = RunOutcome(
        False, "r", {"us-east-1": RegionReport(marked=["eipalloc-1"], idle=1, idle_addresses=[idle])}
    )

    assert worth_mailing(dry)
    assert not worth_mailing(real)  # marking alone is routine once the tags hold the clock
    dry_data, real_data = email_data(dry), email_data(real)
    assert dry_data["idle_addresses"] == (
        "198.51.100.7 (eipalloc-1, us-east-1): idle since 2026-03-02T06:00:00Z, "
        "would be released on or after 2026-03-09T06:00:00Z"
    )
    assert "to be released on or after 2026-03-09T06:00:00Z" in real_data["idle_addresses"]
    assert "dry run" in dry_data["run_note"] and "nothing was changed" in dry_data["run_note"]
    assert "nothing was changed" not in real_data["run_note"]


def test_email_data_is_flat_strings_and_summary_is_bounded() -> None:
    regions = {
        "us-east-1": RegionReport(released=[f"eipalloc-{i}" for i in range(80)], addresses=80, idle=80)
    }
    outcome = RunOutcome(False, "run-1", regions)
    data = email_data(outcome)
    assert all(isinstance(value, str) for value in data.values())
    assert set(data) == {
        "dry_run", "released_count", "would_release_count", "marked_count", "error_count",
        "regions", "savings_usd", "summary", "run_id", "dns_protected_count", "dns_held_back",
        "idle_addresses", "run_note", "released_earlier_count",
    }  # fmt: skip
    assert (data["savings_usd"], data["dry_run"], data["regions"]) == ("288.00", "false", "us-east-1")
    summary = summary_text(outcome)
    assert "released eipalloc-49" in summary
    assert "released eipalloc-50" not in summary
    assert "30 more" in summary
