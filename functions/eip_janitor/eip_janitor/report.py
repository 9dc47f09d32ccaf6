"""The janitor's report (the handler's return value), its savings figure and the email it sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eip_janitor.address_sweep import RegionReport

# Every public IPv4 address costs $0.005 an hour since February 2024; a month is counted as 30 days.
HOURLY_PRICE_USD = 0.005
HOURS_PER_MONTH = 720
TEMPLATE = "eip-janitor-report"
_SUMMARY_LIMIT = 50  # lines per list in the email; the full list is in the report and the logs


def monthly_savings_usd(released: int) -> float:
    return round(released * HOURLY_PRICE_USD * HOURS_PER_MONTH, 2)


def build_report(
    dry_run: bool,
    regions: Mapping[str, RegionReport],
    permission_check: dict[str, Any] | None,
    run_id: str,
) -> dict[str, Any]:
    """The report contract: released/would_release/... per region, the counts and the savings.

    In a dry run the savings are what releasing `would_release` would save (decisions.md)."""
    released = sum(len(r.released) for r in regions.values())
    would_release = sum(len(r.would_release) for r in regions.values())
    report: dict[str, Any] = {
        "dry_run": dry_run,
        "run_id": run_id,
        "regions": {name: r.as_dict() for name, r in sorted(regions.items())},
        "released_count": released,
        "would_release_count": would_release,
        "marked_count": sum(len(r.marked) for r in regions.values()),
        "deferred_count": sum(len(r.deferred) for r in regions.values()),
        "error_count": sum(len(r.errors) for r in regions.values()),
        "estimated_monthly_savings_usd": monthly_savings_usd(would_release if dry_run else released),
    }
    if permission_check is not None:
        report["permission_check"] = permission_check
    return report


def worth_mailing(report: Mapping[str, Any]) -> bool:
    """Mail when something was released, would be released, or failed; marking alone is routine."""
    return bool(report["released_count"] or report["would_release_count"] or report["error_count"])


def email_data(report: Mapping[str, Any]) -> dict[str, str]:
    """The `eip-janitor-report` template's data: flat strings only (see the sender's contract)."""
    return {
        "dry_run": "true" if report["dry_run"] else "false",
        "released_count": str(report["released_count"]),
        "would_release_count": str(report["would_release_count"]),
        "marked_count": str(report["marked_count"]),
        "error_count": str(report["error_count"]),
        "regions": ", ".join(report["regions"]),
        "savings_usd": f"{report['estimated_monthly_savings_usd']:.2f}",
        "summary": summary_text(report),
        "run_id": str(report["run_id"]),
    }


def summary_text(report: Mapping[str, Any]) -> str:
    """One line per region and per address that changed, failed or was deferred."""
    lines: list[str] = []
    if report["dry_run"]:
        lines.append("DRY RUN: nothing was changed.")
    check = report.get("permission_check")
    if check:
        lines.append(f"Permission check {check['action']}: allowed={check['allowed']} ({check['code']})")
    for name, region in report["regions"].items():
        lines.append(
            f"{name}: {region['addresses']} addresses, {region['idle']} idle, "
            f"{len(region['released'])} released, {len(region['would_release'])} would be released, "
            f"{len(region['marked'])} marked, {len(region['unmarked'])} unmarked, "
            f"{len(region['deferred'])} deferred, {len(region['errors'])} errors"
        )
        items = (
            [f"  released {a}" for a in region["released"]]
            + [f"  would release {a}" for a in region["would_release"]]
            + [f"  deferred {a}" for a in region["deferred"]]
            + [f"  error {e['allocation_id']}: {e['code']}" for e in region["errors"]]
        )
        lines.extend(items[:_SUMMARY_LIMIT])
        if len(items) > _SUMMARY_LIMIT:
            lines.append(f"  ... and {len(items) - _SUMMARY_LIMIT} more (see the report)")
    return "\n".join(lines)
