"""One region's work: describe its addresses, decide each, tag or untag, and release the chosen ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from eip_janitor.decisions import Action, Decision, decide, format_idle_tag, guard_release, tags_of
from eip_janitor.dns_index import DnsIndex
from eip_janitor.release_budget import Candidate
from eip_janitor.releases import Releases, before_state
from eip_janitor.report import AWS_FAILURES, IdleAddress, RegionReport, failure_code
from eip_janitor.run_ledger import LedgerUnavailable, Remembered, RunLedger
from eip_janitor.settings import Settings
from groundskeeper.errors import NETWORK_ERRORS
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import AddressTypeDef, TagTypeDef

NOT_FOUND = "InvalidAllocationID.NotFound"
# What ReleaseAddress answers for an address that is gone: by allocation id, and by public IP.
GONE = (NOT_FOUND, "InvalidAddress.NotFound")
ALREADY_RELEASED = "already released"
UNCONFIRMED = "release not confirmed: an earlier attempt of this run stopped after writing it down"
# CreateTags/DeleteTags take many resources per call, and an EC2 filter takes a bounded list of values;
# AWS advises modest batches for both.
BATCH = 200


@dataclass
class RegionSurvey:
    """One region after the sweep: its report so far, and its release candidates (before the cap)."""

    region: str
    report: RegionReport
    candidates: list[Candidate]
    # The allocation ids the region's describe listed; None when it could not be described.
    present: set[str] | None = field(default=None)


@dataclass(frozen=True)
class IdleMemory:
    """Where this run reads and keeps when it first saw untagged addresses idle: the account's part of the
    run ledger (run_ledger.py, dry-run memory)."""

    ledger: RunLedger
    account: str


def survey_region(
    ec2: EC2Client, region: str, now: datetime, settings: Settings, memory: IdleMemory | None = None
) -> RegionSurvey:
    """Describe and decide every address in the region, apply marks and unmarks (unless dry run), and
    return the release candidates; releasing waits until the DNS guard (hold_back_for_dns) and the cap
    have been applied across regions. With `memory`, an untagged idle address's clock starts when a run
    first saw it idle (a dry run keeps that there; a real run writes it into the tag)."""
    report = RegionReport()
    survey = RegionSurvey(region, report, [])
    try:
        # DescribeAddresses is not paginated: one call returns the region's whole list.
        addresses = ec2.describe_addresses()["Addresses"]
    except AWS_FAILURES as exc:
        # One unreachable or forbidden region must not stop the others.
        report.error(None, exc)
        return survey
    decisions, untagged, remembered, memory = _decide_all(
        addresses, region=region, now=now, settings=settings, memory=memory, report=report
    )
    to_mark: dict[str, list[str]] = defaultdict(list)  # the idle tag's value -> the addresses to tag with it
    to_unmark: list[str] = []
    due_untagged: dict[str, Candidate] = {}
    for address, decision in zip(addresses, decisions, strict=True):
        action = decision.action
        if action in (Action.MARK, Action.WAIT, Action.RELEASE):
            report.idle += 1
            report.idle_addresses.append(_idle_entry(address, decision, now, settings))
        if action is Action.MARK:
            to_mark[format_idle_tag(decision.idle_since or now)].append(decision.allocation_id)
        elif action is Action.UNMARK:
            to_unmark.append(decision.allocation_id)
        elif action is Action.EXEMPT:
            report.exempt.append(decision.allocation_id)
        elif action is Action.SKIP:
            report.skip(decision.allocation_id, decision.reason)
        elif action is Action.RELEASE:
            candidate = Candidate(region, decision, dict(address))
            if decision.allocation_id in remembered and settings.idle_tag_key not in tags_of(address):
                # Due by the remembered time, but untagged: tagged first (IAM releases only tagged addresses,
                # and the re-check before the release reads the tag), and a candidate only once tagged.
                to_mark[format_idle_tag(decision.idle_since or now)].append(decision.allocation_id)
                due_untagged[decision.allocation_id] = candidate
            else:
                survey.candidates.append(candidate)
    report.addresses = len(addresses)
    survey.present = {str(a.get("AllocationId")) for a in addresses}
    untag: list[TagTypeDef] = [{"Key": settings.idle_tag_key}]  # no Value: delete the key whatever its value
    tagged: list[str] = []
    for value, ids in sorted(to_mark.items()):
        tag: list[TagTypeDef] = [{"Key": settings.idle_tag_key, "Value": value}]
        tagged += _change_tags(partial(_create_tags, ec2, tag), ids, settings, report)
    report.marked = [a for a in tagged if a not in due_untagged]
    survey.candidates += [due_untagged[a] for a in tagged if a in due_untagged]
    report.unmarked = _change_tags(
        lambda ids: ec2.delete_tags(Resources=ids, Tags=untag), to_unmark, settings, report
    )
    _keep_in_memory(
        memory,
        region=region,
        untagged=untagged,
        remembered=remembered,
        tagged=tagged,
        now=now,
        settings=settings,
        report=report,
    )
    return survey


def _decide_all(
    addresses: Sequence[AddressTypeDef],
    *,
    region: str,
    now: datetime,
    settings: Settings,
    memory: IdleMemory | None,
    report: RegionReport,
) -> tuple[list[Decision], dict[str, bool], dict[str, Remembered], IdleMemory | None]:
    """Each address's decision, with the memory read for the untagged ones: (decisions, untagged
    allocation id -> idle, what the memory holds for them, the memory, or None when it could not be read)."""
    decisions = [decide(address, now, settings) for address in addresses]
    # Only an untagged address has its clock in the memory: an idle one to read it, one in use to forget it.
    untagged = {
        d.allocation_id: d.action is Action.MARK
        for d, a in zip(decisions, addresses, strict=True)
        if d.action is Action.IN_USE or (d.action is Action.MARK and settings.idle_tag_key not in tags_of(a))
    }
    remembered = _recall(memory, region, list(untagged), report)
    if remembered is None:
        # Unread, the memory is not written either: a dry run would otherwise restart every clock.
        return decisions, untagged, {}, None
    decisions = [
        decide(a, now, settings, remembered=remembered[d.allocation_id].first_seen)
        if d.action is Action.MARK and d.allocation_id in remembered
        else d
        for d, a in zip(decisions, addresses, strict=True)
    ]
    return decisions, untagged, remembered, memory


def _recall(
    memory: IdleMemory | None, region: str, allocation_ids: list[str], report: RegionReport
) -> dict[str, Remembered] | None:
    """What the memory holds for these addresses; None when it could not be read."""
    if memory is None or not allocation_ids:
        return {}
    try:
        return memory.ledger.remembered(memory.account, region, allocation_ids)
    except (*AWS_FAILURES, LedgerUnavailable) as exc:
        # Without the memory each clock starts now: later releases, never earlier ones.
        report.error(None, exc)
        return None


def _create_tags(ec2: EC2Client, tags: list[TagTypeDef], ids: list[str]) -> None:
    ec2.create_tags(Resources=ids, Tags=tags)


def _keep_in_memory(
    memory: IdleMemory | None,
    *,
    region: str,
    untagged: Mapping[str, bool],
    remembered: Mapping[str, Remembered],
    tagged: Sequence[str],
    now: datetime,
    settings: Settings,
    report: RegionReport,
) -> None:
    """A dry run remembers each untagged idle address it sees for the first time (and keeps alive those
    it remembers); any run forgets an address it saw in use, and a real run forgets what it has just tagged
    (the tag holds the clock from now on). `untagged`: allocation id -> idle (False: in use)."""
    if memory is None:
        return
    forget = [a for a, idle in untagged.items() if not idle and a in remembered]
    keep: dict[str, datetime] = {}
    if settings.dry_run:
        for allocation_id in (a for a, idle in untagged.items() if idle):
            known = remembered.get(allocation_id)
            if known is None:
                keep[allocation_id] = now
            elif known.needs_refresh(now):
                keep[allocation_id] = known.first_seen
    else:
        forget += [a for a in tagged if a in remembered]
    if not keep and not forget:
        return
    try:
        memory.ledger.remember(memory.account, region, keep, forget, now)
    except (*AWS_FAILURES, LedgerUnavailable) as exc:
        report.error(None, exc)


def _idle_entry(
    address: Mapping[str, Any], decision: Decision, now: datetime, settings: Settings
) -> IdleAddress:
    since = decision.idle_since or now
    return {
        "allocation_id": decision.allocation_id,
        "public_ip": str(address.get("PublicIp") or ""),
        "idle_since": format_idle_tag(since),
        "release_after": format_idle_tag(since + timedelta(hours=settings.grace_period_hours)),
    }


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
    releases: Releases | None = None,
) -> None:
    """Release (or, in a dry run, list) this region's share of the capped candidates, each written down in
    the run's journal (`releases`) before it is made.

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
                releases=releases or Releases(),
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
    releases: Releases,
) -> None:
    allocation_id = candidate.allocation_id
    if address is None:
        report.skip(allocation_id, ALREADY_RELEASED)
        return
    fresh = decide(address, now, settings, dns)
    if fresh.action is not Action.RELEASE:
        report.skip(allocation_id, _changed_since_sweep(fresh))
        return
    try:
        record, written_earlier = releases.intend(candidate.region, address, fresh)
    except AWS_FAILURES as exc:
        report.error(allocation_id, exc)  # not written down, so not made
        return
    try:
        if address.get("NetworkBorderGroup"):
            ec2.release_address(AllocationId=allocation_id, NetworkBorderGroup=address["NetworkBorderGroup"])
        else:
            ec2.release_address(AllocationId=allocation_id)
    except NETWORK_ERRORS as exc:
        # No answer: EC2 may have released it. Ask EC2; the intent stays open until the answer is known.
        if _gone(ec2, allocation_id):
            releases.done(record)
            report.released.append(allocation_id)
            _log_release("eip_released", candidate.region, address, fresh)
        else:
            report.error(allocation_id, exc)
        return
    except AWS_FAILURES as exc:
        code = failure_code(exc)
        # Gone, after botocore retried a call whose answer was lost, or after an earlier attempt of this run
        # wrote it down: the release was ours. Gone otherwise: someone else released it, which is what a
        # release wanted anyway. Anything else is this address's error, not the run's.
        if code in GONE and record is not None and (_retried(exc) or written_earlier):
            releases.done(record)
            report.released.append(allocation_id)
            _log_release("eip_released", candidate.region, address, fresh)
            return
        releases.failed(record, code)
        if code in GONE:
            report.skip(allocation_id, ALREADY_RELEASED)
        else:
            report.error(allocation_id, exc)
        return
    releases.done(record)
    report.released.append(allocation_id)
    _log_release("eip_released", candidate.region, address, fresh)


def _gone(ec2: EC2Client, allocation_id: str) -> bool:
    """Whether EC2 no longer lists the address; False when that cannot be told (the next attempt of the run
    confirms it from the journal's open intent)."""
    try:
        ec2.describe_addresses(AllocationIds=[allocation_id])
    except ClientError as exc:
        return failure_code(exc) in GONE
    except AWS_FAILURES:
        return False
    return False


def _retried(exc: Exception) -> bool:
    """Whether botocore sent the call more than once: an earlier try may have been carried out."""
    if not isinstance(exc, ClientError):
        return False
    return int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0) > 0


def account_for_earlier(
    releases: Releases, surveys: Mapping[str, RegionSurvey], reports: dict[str, RegionReport]
) -> None:
    """Report what earlier attempts of this run wrote down and this attempt did not touch, into `reports`
    (region -> report; a region this attempt did not sweep gets one): a release done is "released earlier
    in this run"; an intent whose address EC2 no longer lists is confirmed (and its recovery line written);
    one whose address is still there, or whose region could not be described, is unconfirmed."""
    for record in releases.not_attempted():
        region = str(record.before.get("region") or "")
        report = reports.setdefault(region, RegionReport())
        survey = surveys.get(region)
        if record.status == "done":
            report.released_earlier.append(record.resource)
        elif record.status == "failed":
            if record.error in GONE:
                report.skip(record.resource, ALREADY_RELEASED)
            else:
                report.errors.append({"allocation_id": record.resource, "code": record.error or "Failed"})
        elif survey is not None and survey.present is not None and record.resource not in survey.present:
            releases.done(record)
            report.released_earlier.append(record.resource)
            log_recovery("eip_released", {**record.before, "confirmed_by": "address gone on retry"})
        else:
            report.skip(record.resource, UNCONFIRMED)


def _changed_since_sweep(decision: Decision) -> str:
    if decision.action in (Action.IN_USE, Action.UNMARK):
        return "associated since sweep"
    if decision.action is Action.EXEMPT:
        return "exempt since sweep"
    if decision.action in (Action.SKIP, Action.DNS_PROTECTED, Action.HOLD):
        return decision.reason
    return f"idle tag changed since sweep ({decision.reason})"


def _log_release(event: str, region: str, address: Mapping[str, Any], decision: Decision) -> None:
    log_recovery(event, before_state(region, address, decision))


def log_recovery(event: str, before: Mapping[str, Any]) -> None:
    """The recovery log: everything needed to ask for the address back (docs/eip-janitor.md: Recovery), in
    the shape the journal keeps as the release's before-state."""
    logger.info(event, extra={**before, "time": format_idle_tag(datetime.now(UTC))})
