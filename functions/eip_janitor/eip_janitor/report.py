"""The janitor's report contract: what each region recorded, the handler's return value, the email data."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from botocore.exceptions import BotoCoreError, ClientError

from eip_janitor.run_ledger import LeaseEntry, lease_off
from groundskeeper.errors import error_code
from groundskeeper.observability import logger

# Every public IPv4 address costs $0.005 an hour since February 2024; a month is counted as 30 days.
HOURLY_PRICE_USD = 0.005
HOURS_PER_MONTH = 720
TEMPLATE = "eip-janitor-report"
_SUMMARY_LIMIT = 50  # lines per list in the email; the full list is in the report and the logs
# What one address's (or region's) AWS call may raise and the report records; anything else is a bug
# and fails the run loudly.
AWS_FAILURES = (ClientError, BotoCoreError)
# The email sender refuses a longer idempotency key (docs/email-sender.md, message contract).
MAX_IDEMPOTENCY_KEY = 256
_KEY_PREFIX = "eip-janitor:"
# What an EventBridge event id or a Lambda request id looks like; kept readable in the key as it is.
_PLAIN_RUN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class SkippedAddress(TypedDict):
    allocation_id: str
    reason: str


class AddressError(TypedDict):
    allocation_id: str | None  # None: the region itself could not be described
    code: str


class DnsRecordEntry(TypedDict):
    """One Route 53 record that points at an address."""

    name: str
    type: str  # "A", or "CNAME" to the address's EC2 public host name
    zone: str
    zone_id: str
    private: bool


class DnsProtectedAddress(TypedDict):
    """An address due for release that is kept because DNS records still point at it."""

    allocation_id: str
    public_ip: str
    records: list[DnsRecordEntry]


class DnsGuardEntry(TypedDict):
    """The report's `dns_guard` section: whether the run could read every hosted zone."""

    status: str  # ok | failed (nothing was released) | off (DNS_GUARD=off)
    zones_read: int
    records_read: int
    calls: int  # Route 53 requests: ListHostedZones pages + ListResourceRecordSets pages
    error: str | None


def guard_off() -> DnsGuardEntry:
    return {"status": "off", "zones_read": 0, "records_read": 0, "calls": 0, "error": None}


class IdleAddress(TypedDict):
    """An idle address and its clock: since when it is idle, and from when a real run releases it."""

    allocation_id: str
    public_ip: str
    idle_since: str
    release_after: str  # idle_since + the grace period; a real run on or after it releases the address


class RegionEntry(TypedDict):
    released: list[str]
    released_earlier: list[str]  # by an earlier attempt of this run, as its journal records them
    would_release: list[str]
    marked: list[str]
    unmarked: list[str]
    exempt: list[str]
    skipped: list[SkippedAddress]
    deferred: list[str]
    errors: list[AddressError]
    dns_protected: list[DnsProtectedAddress]
    idle_addresses: list[IdleAddress]
    addresses: int
    idle: int


class PermissionCheck(TypedDict):
    action: str
    allowed: bool | None  # None: EC2 could not be asked
    code: str
    region: NotRequired[str]
    allocation_id: NotRequired[str]


class RunTotals(TypedDict):
    """A run's totals over all regions: in the handler's return value and in the run's log line alike."""

    released_count: int
    would_release_count: int
    marked_count: int
    deferred_count: int
    error_count: int
    dns_protected_count: int
    dns_guard: DnsGuardEntry
    estimated_monthly_savings_usd: float


class JanitorReport(RunTotals):
    """The handler's return value: the run's totals, and these."""

    dry_run: bool
    run_id: str
    regions: dict[str, RegionEntry]  # empty when another run held the lease
    lease: LeaseEntry
    permission_check: NotRequired[PermissionCheck]  # dry runs only
    notification_id: str | None


class _PermissionPart(TypedDict, total=False):
    permission_check: PermissionCheck


class EipJanitorReportData(TypedDict):
    """The `eip-janitor-report` template's data: flat strings only (the sender's contract)."""

    dry_run: str
    released_count: str
    would_release_count: str
    marked_count: str
    error_count: str
    regions: str
    savings_usd: str
    summary: str
    run_id: str
    dns_protected_count: str
    dns_held_back: str
    idle_addresses: str
    run_note: str
    released_earlier_count: str


def failure_code(exc: Exception) -> str:
    return error_code(exc) or type(exc).__name__


@dataclass
class RegionReport:
    """What one region's sweep and releases recorded, filled in as they go."""

    released: list[str] = field(default_factory=list)
    released_earlier: list[str] = field(default_factory=list)
    would_release: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)
    exempt: list[str] = field(default_factory=list)
    skipped: list[SkippedAddress] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    errors: list[AddressError] = field(default_factory=list)
    dns_protected: list[DnsProtectedAddress] = field(default_factory=list)
    idle_addresses: list[IdleAddress] = field(default_factory=list)
    addresses: int = 0
    idle: int = 0

    def skip(self, allocation_id: str, reason: str) -> None:
        self.skipped.append({"allocation_id": allocation_id, "reason": reason})

    def error(self, allocation_id: str | None, exc: Exception) -> None:
        code = failure_code(exc)
        self.errors.append({"allocation_id": allocation_id, "code": code})
        logger.warning(
            "address_error", extra={"allocation_id": allocation_id, "code": code, "error": str(exc)}
        )

    def entry(self) -> RegionEntry:
        return {
            "released": list(self.released),
            "released_earlier": list(self.released_earlier),
            "would_release": list(self.would_release),
            "marked": list(self.marked),
            "unmarked": list(self.unmarked),
            "exempt": list(self.exempt),
            "skipped": list(self.skipped),
            "deferred": list(self.deferred),
            "errors": list(self.errors),
            "dns_protected": list(self.dns_protected),
            "idle_addresses": list(self.idle_addresses),
            "addresses": self.addresses,
            "idle": self.idle,
        }


@dataclass(frozen=True)
class RunOutcome:
    """Everything one run found, before it is shaped into the report or the email."""

    dry_run: bool
    run_id: str
    regions: dict[str, RegionReport]
    permission_check: PermissionCheck | None = None
    dns_guard: DnsGuardEntry = field(default_factory=guard_off)
    lease: LeaseEntry = field(default_factory=lease_off)
    # Why the run did nothing at all, when it stopped before acting (it then fails, closed).
    stopped: str | None = None

    @property
    def dns_protected_count(self) -> int:
        return sum(len(r.dns_protected) for r in self.regions.values())

    @property
    def dns_guard_failed(self) -> bool:
        return self.dns_guard["status"] == "failed"

    @property
    def released_count(self) -> int:
        """Every release of the run: this attempt's and those earlier attempts of the same run made."""
        return sum(len(r.released) + len(r.released_earlier) for r in self.regions.values())

    @property
    def released_earlier_count(self) -> int:
        return sum(len(r.released_earlier) for r in self.regions.values())

    @property
    def would_release_count(self) -> int:
        return sum(len(r.would_release) for r in self.regions.values())

    @property
    def marked_count(self) -> int:
        return sum(len(r.marked) for r in self.regions.values())

    @property
    def deferred_count(self) -> int:
        return sum(len(r.deferred) for r in self.regions.values())

    @property
    def error_count(self) -> int:
        return sum(len(r.errors) for r in self.regions.values())

    @property
    def idle_count(self) -> int:
        return sum(r.idle for r in self.regions.values())

    @property
    def estimated_monthly_savings_usd(self) -> float:
        """In a dry run, what releasing `would_release` would save; otherwise what the releases save."""
        return monthly_savings_usd(self.would_release_count if self.dry_run else self.released_count)

    def totals(self) -> RunTotals:
        return {
            "released_count": self.released_count,
            "would_release_count": self.would_release_count,
            "marked_count": self.marked_count,
            "deferred_count": self.deferred_count,
            "error_count": self.error_count,
            "dns_protected_count": self.dns_protected_count,
            "dns_guard": self.dns_guard,
            "estimated_monthly_savings_usd": self.estimated_monthly_savings_usd,
        }


def monthly_savings_usd(released: int) -> float:
    return round(released * HOURLY_PRICE_USD * HOURS_PER_MONTH, 2)


def build_report(outcome: RunOutcome, notification_id: str | None) -> JanitorReport:
    """The report: released/would_release/... per region (sorted by name), the counts and the savings."""
    check = outcome.permission_check
    permission: _PermissionPart = {} if check is None else {"permission_check": check}
    return {
        "dry_run": outcome.dry_run,
        "run_id": outcome.run_id,
        "regions": {name: r.entry() for name, r in sorted(outcome.regions.items())},
        "lease": outcome.lease,
        **outcome.totals(),
        "notification_id": notification_id,
        **permission,
    }


def notification_key(run_id: str) -> str:
    """One key per run, so a retried invocation of the same event asks the sender for the same email again.

    A usual id stays readable; any other (too long, or with characters the id of a real event never has)
    becomes its SHA-256, so the key always fits the sender's limit and two ids never share a key."""
    if _PLAIN_RUN_ID.fullmatch(run_id):
        return _KEY_PREFIX + run_id
    digest = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{_KEY_PREFIX}sha256:{digest}"


def stopped_key(run_id: str) -> str:
    """The key of the email that says a run did nothing and why: not the run's own key, so that a re-driven
    run that then acts still has its report mailed, not dropped as a duplicate of this one."""
    return notification_key(run_id) + ":stopped"


def worth_mailing(outcome: RunOutcome) -> bool:
    """Mail when something was released, would be released, failed, or is held back by DNS (a record to
    delete or repoint). Marking alone is routine in a real run; in a dry run it is the report the operator
    waits for (each idle address and its release date), so a dry run that found an idle address mails."""
    return bool(
        outcome.released_count
        or outcome.would_release_count
        or (outcome.dry_run and outcome.idle_count)
        or outcome.error_count
        or outcome.dns_protected_count
        or outcome.dns_guard_failed
        or outcome.stopped
    )


def email_data(outcome: RunOutcome) -> EipJanitorReportData:
    return {
        "dry_run": "true" if outcome.dry_run else "false",
        "released_count": str(outcome.released_count),
        "would_release_count": str(outcome.would_release_count),
        "marked_count": str(outcome.marked_count),
        "error_count": str(outcome.error_count),
        "regions": ", ".join(sorted(outcome.regions)),
        "savings_usd": f"{outcome.estimated_monthly_savings_usd:.2f}",
        "summary": summary_text(outcome),
        "run_id": outcome.run_id,
        "dns_protected_count": str(outcome.dns_protected_count),
        "dns_held_back": dns_held_back_text(outcome),
        "idle_addresses": idle_addresses_text(outcome),
        "run_note": run_note(outcome),
        "released_earlier_count": str(outcome.released_earlier_count),
    }


def run_note(outcome: RunOutcome) -> str:
    """The email's closing sentence: what the run did to the account, which differs between the two modes."""
    if outcome.dry_run:
        return (
            "This was a dry run: nothing was changed, no tag was written or removed, and no address was "
            "released. A real run (JanitorDryRun=false) releases each idle address on or after its date "
            "above."
        )
    return (
        "This run tagged the addresses it marked and released those listed as released; each release is in "
        "the janitor's log with what a recovery needs."
    )


def idle_addresses_text(outcome: RunOutcome) -> str:
    """The email's "idle addresses" section: each idle address and the date a real run releases it."""
    verb = "would be released" if outcome.dry_run else "to be released"
    idle = [(name, a) for name, region in sorted(outcome.regions.items()) for a in region.idle_addresses]
    lines = [
        f"{a['public_ip'] or '-'} ({a['allocation_id']}, {name}): idle since {a['idle_since']}, "
        f"{verb} on or after {a['release_after']}"
        for name, a in idle[:_SUMMARY_LIMIT]
    ]
    if len(idle) > _SUMMARY_LIMIT:
        lines.append(f"... and {len(idle) - _SUMMARY_LIMIT} more (see the report)")
    return "\n".join(lines) or "None: no address is idle."


def summary_text(outcome: RunOutcome) -> str:
    """One line per region and per address that changed, failed or was deferred."""
    lines: list[str] = []
    if outcome.dry_run:
        lines.append("DRY RUN: nothing was changed.")
    if outcome.stopped:
        lines.append(f"This run did nothing: {outcome.stopped}. It failed, closed: no address was released.")
    if outcome.released_earlier_count:
        lines.append(
            f"{outcome.released_earlier_count} released earlier in this run, by an attempt that then failed "
            "before its report went out; they are reported here."
        )
    if outcome.lease["status"] == "busy":
        lines.append(
            f"Another run ({outcome.lease.get('holder')}) was working on this account until "
            f"{outcome.lease.get('until')}: this run did nothing."
        )
    check = outcome.permission_check
    if check:
        lines.append(f"Permission check {check['action']}: allowed={check['allowed']} ({check['code']})")
    if outcome.dns_guard_failed:
        lines.append(f"DNS guard FAILED ({outcome.dns_guard['error']}): nothing was released.")
    for name, region in sorted(outcome.regions.items()):
        lines.append(
            f"{name}: {region.addresses} addresses, {region.idle} idle, "
            f"{len(region.released) + len(region.released_earlier)} released"
            f"{f' ({len(region.released_earlier)} earlier in this run)' if region.released_earlier else ''}, "
            f"{len(region.would_release)} would be released, "
            f"{len(region.marked)} marked, {len(region.unmarked)} unmarked, "
            f"{len(region.deferred)} deferred, {len(region.dns_protected)} held back by DNS, "
            f"{len(region.errors)} errors"
        )
        items = (
            [f"  released {a}" for a in region.released]
            + [f"  released earlier in this run {a}" for a in region.released_earlier]
            + [f"  would release {a}" for a in region.would_release]
            + [f"  deferred {a}" for a in region.deferred]
            + [f"  error {e['allocation_id']}: {e['code']}" for e in region.errors]
        )
        lines.extend(items[:_SUMMARY_LIMIT])
        if len(items) > _SUMMARY_LIMIT:
            lines.append(f"  ... and {len(items) - _SUMMARY_LIMIT} more (see the report)")
    return "\n".join(lines)


def dns_held_back_text(outcome: RunOutcome) -> str:
    """The email's "held back by DNS" section: each address, its region and the records naming it."""
    guard = outcome.dns_guard
    if guard["status"] == "off":
        return "The DNS guard is off (DNS_GUARD=off): addresses were released without checking Route 53."
    lines: list[str] = []
    if guard["status"] == "failed":
        lines.append(
            f"The DNS guard could not read every hosted zone ({guard['error']}), so no address was "
            "released this run."
        )
    held = [(name, a) for name, region in sorted(outcome.regions.items()) for a in region.dns_protected]
    for region_name, address in held[:_SUMMARY_LIMIT]:
        records = "; ".join(
            f"{r['name']} {r['type']} in zone {r['zone']} ({'private' if r['private'] else 'public'})"
            for r in address["records"]
        )
        lines.append(f"{address['public_ip']} ({address['allocation_id']}, {region_name}): {records}")
    if len(held) > _SUMMARY_LIMIT:
        lines.append(f"... and {len(held) - _SUMMARY_LIMIT} more (see the report)")
    if not lines:
        lines.append(
            f"None: no record in the {guard['zones_read']} hosted zones read points at an address due."
        )
    return "\n".join(lines)
