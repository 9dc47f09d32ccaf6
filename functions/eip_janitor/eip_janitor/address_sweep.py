"""One region's work: describe its addresses, decide each, tag or untag, and release the chosen ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eip_janitor.decisions import Action, Decision, decide, format_idle_tag, guard_release, tags_of
from eip_janitor.dns_index import DnsIndex
from eip_janitor.release_budget import Candidate
from eip_janitor.report import AWS_FAILURES, RegionReport
from eip_janitor.settings import Settings
from groundskeeper.errors import error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import AddressTypeDef, TagTypeDef

NOT_FOUND = "InvalidAllocationID.NotFound"
# CreateTags/DeleteTags take many resources per call, and an EC2 filter takes a bounded list of values;
# AWS advises modest batches for both.
BATCH = 200


@dataclass
class RegionSurvey:
    """One region after the sweep: its report so far, and its release candidates (before the cap)."""

    region: str
    report: RegionReport
    candidates: list[Candidate]


def survey_region(ec2: EC2Client, region: str, now: datetime, settings: Settings) -> RegionSurvey:
    """Describe and decide every address in the region, apply marks and unmarks (unless dry run), and
    return the release candidates; releasing waits until the DNS guard (hold_back_for_dns) and the cap
    have been applied across regions."""
    report = RegionReport()
    survey = RegionSurvey(region, report, [])
    try:
        # DescribeAddresses is not paginated: one call returns the region's whole list.
        addresses = ec2.describe_addresses()["Addresses"]
    except AWS_FAILURES as exc:
        # One unreachable or forbidden region must not stop the others.
        report.error(None, exc)
        return survey
    to_mark: list[str] = []
    to_unmark: list[str] = []
    for address in addresses:
        decision = decide(address, now, settings)
        action = decision.action
        if action in (Action.MARK, Action.WAIT, Action.RELEASE):
            report.idle += 1
        if action is Action.MARK:
            to_mark.append(decision.allocation_id)
        elif action is Action.UNMARK:
            to_unmark.append(decision.allocation_id)
        elif action is Action.EXEMPT:
            report.exempt.append(decision.allocation_id)
        elif action is Action.SKIP:
            report.skip(decision.allocation_id, decision.reason)
        elif action is Action.RELEASE:
            survey.candidates.append(Candidate(region, decision, dict(address)))
    report.addresses = len(addresses)
    tag: list[TagTypeDef] = [{"Key": settings.idle_tag_key, "Value": format_idle_tag(now)}]
    untag: list[TagTypeDef] = [{"Key": settings.idle_tag_key}]  # no Value: delete the key whatever its value
    report.marked = _change_tags(
        lambda ids: ec2.create_tags(Resources=ids, Tags=tag), to_mark, settings, report
    )
    report.unmarked = _change_tags(
        lambda ids: ec2.delete_tags(Resources=ids, Tags=untag), to_unmark, settings, report
    )
    return survey


def hold_back_for_dns(survey: RegionSurvey, dns: DnsIndex) -> None:
    """Keep, out of the candidates, every address a DNS record points at (listed in the report with its
    records) and, when the index is incomplete, every address (skipped with the guard's error). Neither
    takes a place under the release cap. Their idle tags stay, so they are released on the first run
    after the record is deleted or repointed."""
    kept: list[Candidate] = []
    for candidate in survey.candidates:
        guarded = guard_release(candidate.decision, candidate.address, dns)
        if guarded.action is Action.RELEASE:
            kept.append(candidate)
            continue
        if guarded.action is Action.DNS_PROTECTED:
            public_ip = str(candidate.address.get("PublicIp") or "")
            survey.report.dns_protected.append(
                {
                    "allocation_id": candidate.allocation_id,
                    "public_ip": public_ip,
                    "records": list(dns.records_for(public_ip)),
                }
            )
            logger.info(
                "eip_dns_protected",
                extra={
                    "allocation_id": candidate.allocation_id,
                    "public_ip": public_ip,
                    "region": survey.region,
                    "records": list(dns.records_for(public_ip)),
                },
            )
        else:
            survey.report.skip(candidate.allocation_id, guarded.reason)
    survey.candidates = kept


def _change_tags(
    call: Callable[[list[str]], object], ids: list[str], settings: Settings, report: RegionReport
) -> list[str]:
    """Tag in batches; when a batch fails, retry its addresses one by one so each error names its address."""
    if settings.dry_run:
        return list(ids)
    done: list[str] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        try:
            call(batch)
            done.extend(batch)
            continue
        except AWS_FAILURES as exc:
            if len(batch) == 1:
                report.error(batch[0], exc)
                continue
        for allocation_id in batch:
            try:
                call([allocation_id])
                done.append(allocation_id)
            except AWS_FAILURES as exc:
                report.error(allocation_id, exc)
    return done


def release_chosen(
    ec2: EC2Client,
    chosen: Sequence[Candidate],
    now: datetime,
    settings: Settings,
    report: RegionReport,
    *,
    dns: DnsIndex,
) -> None:
    """Release (or, in a dry run, list) this region's share of the capped candidates.

    The sweep's view may be stale by now, and real AWS is our only other guard (moto would even release
    an associated address): so the chosen addresses are described again, together, right before their
    releases, and each is decided again on that fresh data (and the run's DNS index)."""
    if settings.dry_run:
        for candidate in chosen:
            report.would_release.append(candidate.allocation_id)
            _log_release("eip_would_release", candidate.region, candidate.address, candidate.decision)
        return
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        fresh = _describe_again(ec2, batch, report)
        if fresh is None:
            continue
        for candidate in batch:
            _release_one(
                ec2,
                candidate,
                fresh.get(candidate.allocation_id),
                now,
                settings=settings,
                report=report,
                dns=dns,
            )


def _describe_again(
    ec2: EC2Client, batch: Sequence[Candidate], report: RegionReport
) -> dict[str, AddressTypeDef] | None:
    """allocation id -> the address as EC2 sees it now; an id missing from the answer is gone already.

    A filter, not AllocationIds=[...]: the latter fails the whole call with InvalidAllocationID.NotFound
    when any one of the addresses was released meanwhile. None when the call failed: then each address
    of the batch records the error and is left alone."""
    ids = [candidate.allocation_id for candidate in batch]
    try:
        found = ec2.describe_addresses(Filters=[{"Name": "allocation-id", "Values": ids}])["Addresses"]
    except AWS_FAILURES as exc:
        for allocation_id in ids:
            report.error(allocation_id, exc)
        return None
    return {str(address.get("AllocationId")): address for address in found}


def _release_one(
    ec2: EC2Client,
    candidate: Candidate,
    address: AddressTypeDef | None,
    now: datetime,
    *,
    settings: Settings,
    report: RegionReport,
    dns: DnsIndex,
) -> None:
    allocation_id = candidate.allocation_id
    if address is None:
        report.skip(allocation_id, "already released")
        return
    fresh = decide(address, now, settings, dns)
    if fresh.action is not Action.RELEASE:
        report.skip(allocation_id, _changed_since_sweep(fresh))
        return
    try:
        if address.get("NetworkBorderGroup"):
            ec2.release_address(AllocationId=allocation_id, NetworkBorderGroup=address["NetworkBorderGroup"])
        else:
            ec2.release_address(AllocationId=allocation_id)
    except AWS_FAILURES as exc:
        # Gone already is what a release wanted anyway; anything else is this address's error, not the run's.
        if error_code(exc) == NOT_FOUND:
            report.skip(allocation_id, "already released")
        else:
            report.error(allocation_id, exc)
        return
    report.released.append(allocation_id)
    _log_release("eip_released", candidate.region, address, fresh)


def _changed_since_sweep(decision: Decision) -> str:
    if decision.action in (Action.IN_USE, Action.UNMARK):
        return "associated since sweep"
    if decision.action is Action.EXEMPT:
        return "exempt since sweep"
    if decision.action in (Action.SKIP, Action.DNS_PROTECTED, Action.HOLD):
        return decision.reason
    return f"idle tag changed since sweep ({decision.reason})"


def _log_release(event: str, region: str, address: Mapping[str, Any], decision: Decision) -> None:
    # The recovery log: everything needed to ask for the address back (docs/eip-janitor.md: Recovery).
    logger.info(
        event,
        extra={
            "public_ip": address.get("PublicIp"),
            "allocation_id": decision.allocation_id,
            "region": region,
            "network_border_group": address.get("NetworkBorderGroup") or region,
            "tags": tags_of(address),
            "idle_since": format_idle_tag(decision.idle_since) if decision.idle_since else None,
            "time": format_idle_tag(datetime.now(UTC)),
        },
    )
