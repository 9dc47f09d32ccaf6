"""Pure rules: what the janitor does with one Elastic IP, given the address, the time, the settings and
the run's DNS index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from eip_janitor.dns_index import GUARD_OFF, DnsIndex, GuardStatus
from eip_janitor.settings import Settings

AMAZON_POOL = "amazon"
# The longest ISO-8601 time fromisoformat reads ("2026-11-22T06:00:00.000000+01:00:00.000000") is 42.
MAX_IDLE_TAG_CHARS = 64


class Action(StrEnum):
    IN_USE = "in_use"  # associated and untagged: nothing to do
    UNMARK = "unmark"  # associated again: remove our idle tag
    EXEMPT = "exempt"  # carries the exemption tag
    SKIP = "skip"  # never ours to release (service-managed, BYOIP, ...)
    MARK = "mark"  # idle and not (validly) tagged yet: start the grace period
    WAIT = "wait"  # idle, tagged, still in its grace period
    RELEASE = "release"  # idle for longer than the grace period
    DNS_PROTECTED = "dns_protected"  # due, but a DNS record points at it: kept (and marked) until it goes
    HOLD = "hold"  # due, but the DNS guard could not read every zone this run: kept, decided again next run


@dataclass(frozen=True)
class Decision:
    action: Action
    allocation_id: str
    reason: str = ""
    # When the address was first seen idle (the idle tag, or the time a run remembered when the address has
    # no tag); None when neither is known, and the clock starts now.
    idle_since: datetime | None = None


def tags_of(address: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in address.get("Tags") or []}


def in_use(address: Mapping[str, Any]) -> bool:
    # moto (and some real responses) carry these keys as empty strings, so test truthiness, not presence.
    return any(address.get(key) for key in ("AssociationId", "InstanceId", "NetworkInterfaceId"))


def never_ours(address: Mapping[str, Any]) -> str:
    """Why the janitor must never release this address, or "" when nothing forbids it."""
    if address.get("ServiceManaged"):
        return f"service-managed:{address['ServiceManaged']}"
    # A missing pool means an Amazon address (moto leaves the field out); anything else is BYOIP.
    pool = address.get("PublicIpv4Pool") or AMAZON_POOL
    if pool != AMAZON_POOL:
        return f"byoip:{pool}"
    if address.get("CustomerOwnedIp") or address.get("CustomerOwnedIpv4Pool"):
        return "customer-owned"
    if address.get("CarrierIp"):
        return "carrier-ip"
    return ""


def format_idle_tag(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_idle_tag(value: str) -> datetime | None:
    """The tag's time in UTC; None when it is no usable time (someone edited it), so it gets re-marked.

    Unusable: not ISO-8601, longer than any ISO-8601 time, or outside datetime's range once in UTC
    (`0001-01-01T00:00:00+01:00` raises OverflowError there). A naive time is read as UTC."""
    text = value.strip()
    if len(text) > MAX_IDLE_TAG_CHARS:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def decide(
    address: Mapping[str, Any],
    now: datetime,
    settings: Settings,
    dns: DnsIndex = GUARD_OFF,
    remembered: datetime | None = None,
) -> Decision:
    """The one decision for an address. Protection comes first: exempt, never-ours and in-use addresses
    can only ever be reported or unmarked, whatever their idle tag says; a due address is then checked
    against the DNS index (see guard_release).

    `remembered` is when a run first saw this untagged address idle (the run ledger's dry-run memory): it
    stands in for the idle tag a dry run could not write. A tag, when there is one, wins."""
    allocation_id = str(address.get("AllocationId") or "")
    tags = tags_of(address)
    if settings.exempt_tag_key in tags:
        return Decision(Action.EXEMPT, allocation_id, f"tag {settings.exempt_tag_key}")
    reason = never_ours(address) or ("" if allocation_id else "no-allocation-id")
    if reason:
        return Decision(Action.SKIP, allocation_id, reason)
    idle_tag = tags.get(settings.idle_tag_key)
    if in_use(address):
        return Decision(Action.UNMARK if idle_tag is not None else Action.IN_USE, allocation_id)

    return guard_release(_idle_decision(allocation_id, idle_tag, now, settings, remembered), address, dns)


def guard_release(decision: Decision, address: Mapping[str, Any], dns: DnsIndex) -> Decision:
    """A RELEASE stands only if no record in the index points at the address's public IP, and only if
    the index is complete: with a zone unread, any address might be named there, so none is released.
    Anything else passes unchanged. The janitor applies this once the index is built, so the index is
    read concurrently with the region sweeps; decide() applies it too, for the re-check before a release."""
    if decision.action is not Action.RELEASE or dns.status is GuardStatus.OFF:
        return decision
    if dns.status is GuardStatus.FAILED:
        return Decision(
            Action.HOLD, decision.allocation_id, f"DNS guard failed: {dns.error}", decision.idle_since
        )
    public_ip = str(address.get("PublicIp") or "")
    if not public_ip:
        return Decision(
            Action.HOLD, decision.allocation_id, "no public IP to check against DNS", decision.idle_since
        )
    records = dns.records_for(public_ip)
    if records:
        names = ", ".join(sorted({record["name"] for record in records}))
        return Decision(Action.DNS_PROTECTED, decision.allocation_id, f"DNS: {names}", decision.idle_since)
    return decision


def _idle_decision(
    allocation_id: str, idle_tag: str | None, now: datetime, settings: Settings, remembered: datetime | None
) -> Decision:
    idle_since = parse_idle_tag(idle_tag) if idle_tag is not None else None
    if settings.grace_period_hours == 0:
        return Decision(Action.RELEASE, allocation_id, "idle, no grace period", idle_since)
    if idle_tag is None:
        return _untagged_decision(allocation_id, now, settings, remembered)
    if idle_since is None or idle_since > now:
        # A tag we cannot read, or one from the future, says nothing trustworthy: start the clock again.
        shown = idle_tag if len(idle_tag) <= MAX_IDLE_TAG_CHARS else idle_tag[:MAX_IDLE_TAG_CHARS] + "..."
        return Decision(Action.MARK, allocation_id, f"re-mark: bad idle tag {shown!r}")
    reason = f"idle since {format_idle_tag(idle_since)}"
    if now - idle_since >= timedelta(hours=settings.grace_period_hours):
        return Decision(Action.RELEASE, allocation_id, reason, idle_since)
    return Decision(Action.WAIT, allocation_id, reason, idle_since)


def _untagged_decision(
    allocation_id: str, now: datetime, settings: Settings, remembered: datetime | None
) -> Decision:
    """An idle address without the tag: marked now, or, when a run remembers seeing it idle before, marked
    with that time and released in the same run once that is past the grace period."""
    if remembered is None or remembered > now:
        return Decision(Action.MARK, allocation_id, "idle")
    reason = f"idle since {format_idle_tag(remembered)} (remembered)"
    if now - remembered >= timedelta(hours=settings.grace_period_hours):
        return Decision(Action.RELEASE, allocation_id, reason, remembered)
    return Decision(Action.MARK, allocation_id, reason, remembered)
