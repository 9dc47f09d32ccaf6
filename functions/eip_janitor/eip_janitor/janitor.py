"""One janitor run: read DNS and sweep the regions concurrently, hold back what DNS names, apply the
release cap globally, release, report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from eip_janitor import release_budget
from eip_janitor.address_sweep import (
    IdleMemory,
    account_for_earlier,
    hold_back_for_dns,
    release_chosen,
    survey_region,
)
from eip_janitor.dns_index import GUARD_OFF, build_dns_index
from eip_janitor.permission_check import check_release_permission
from eip_janitor.release_budget import Candidate
from eip_janitor.releases import Releases
from eip_janitor.report import (
    AWS_FAILURES,
    TEMPLATE,
    JanitorReport,
    RunOutcome,
    build_report,
    email_data,
    failure_code,
    monthly_savings_usd,
    notification_key,
    stopped_key,
    worth_mailing,
)
from eip_janitor.run_ledger import LeaseEntry, LedgerContended, RunLedger, lease_off
from eip_janitor.settings import Settings, resolve_regions
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_sqs import SQSClient

    from groundskeeper.action_journal import ScopedJournal

# Regions are I/O-bound; 16 threads cover the usual enabled regions in one wave without flooding EC2.
MAX_REGION_WORKERS = 16


def run_janitor(
    settings: Settings,
    *,
    ec2_for: Callable[[str], EC2Client],
    sqs: SQSClient | None,
    own_region: str,
    now: datetime,
    run_id: str,
    route53: Route53Client | None = None,
    ledger: RunLedger | None = None,
    account: str = "",
    journal: ScopedJournal | None = None,
) -> JanitorReport:
    """Four phases, so that the cap is global and the same fleet always gives the same choice:
    1. read every Route 53 zone once (unless the guard is off, route53=None), while every region is
       described, decided and (un)marked concurrently;
    2. hold back the candidates a DNS record points at (all of them when a zone could not be read);
    3. choose at most MAX_RELEASES_PER_RUN of the rest, longest idle first, across all regions (with a
       ledger, at most what is left of the cap for this run id: a redelivered event spends no new budget);
    4. release the chosen ones, regions concurrently, each address re-checked just before.

    With a ledger, the run first takes the account's lease: when another run holds it, this one does nothing
    and its report says who holds it until when. The ledger also keeps, for the account, when a run first
    saw each untagged address idle (run_ledger.py).

    With a journal (real runs only), each release is written down before it is made, and the report adds
    what earlier attempts of the same run released (releases.py). A run that cannot start (the ledger, the
    journal or the region list unreachable) fails, closed, after mailing a short report that says why."""
    journal = None if settings.dry_run else journal
    if ledger is None:
        return _run(
            settings, ec2_for, sqs, own_region, now, run_id, route53, memory=None, lease=lease_off(),
            journal=journal,
        )  # fmt: skip
    with _stops_closed(settings, sqs, run_id, "the run ledger could not be reached"):
        lease = ledger.take_lease(account, run_id, now)
    if lease["status"] == "busy":
        logger.warning("janitor_run_skipped", extra={"run_id": run_id, "account": account, "lease": lease})
        return build_report(RunOutcome(settings.dry_run, run_id, {}, lease=lease), None)
    try:
        memory = IdleMemory(ledger, account)
        return _run(
            settings, ec2_for, sqs, own_region, now, run_id, route53, memory=memory, lease=lease,
            journal=journal,
        )  # fmt: skip
    finally:
        ledger.give_back(account, lease)


@contextmanager
def _stops_closed(settings: Settings, sqs: SQSClient | None, run_id: str, why: str) -> Iterator[None]:
    """Around a step without which the run must not act: when it fails, mail a report that the run did
    nothing and why (under a key of its own), then let the failure end the run."""
    try:
        yield
    except (*AWS_FAILURES, LedgerContended) as exc:
        stopped = f"{why} ({failure_code(exc)})"
        logger.error("janitor_run_stopped", extra={"run_id": run_id, "reason": stopped})
        if sqs is not None and settings.notify.enabled:
            outcome = RunOutcome(settings.dry_run, run_id, {}, stopped=stopped)
            try:
                settings.notify.send(sqs, TEMPLATE, email_data(outcome), idempotency_key=stopped_key(run_id))
            except AWS_FAILURES as send_failure:
                logger.error("janitor_stop_report_failed", extra={"error": str(send_failure)})
        raise


def _run(  # noqa: PLR0917 - run_janitor's own arguments, passed on as they came
    settings: Settings,
    ec2_for: Callable[[str], EC2Client],
    sqs: SQSClient | None,
    own_region: str,
    now: datetime,
    run_id: str,
    route53: Route53Client | None,
    *,
    memory: IdleMemory | None,
    lease: LeaseEntry,
    journal: ScopedJournal | None,
) -> JanitorReport:
    ledger = memory.ledger if memory is not None else None
    with _stops_closed(settings, sqs, run_id, "the enabled regions could not be listed (DescribeRegions)"):
        regions = resolve_regions(settings.regions, own_region, ec2_for)
    with _stops_closed(settings, sqs, run_id, "the action journal could not be read"):
        releases = Releases.load(journal)
    workers = min(MAX_REGION_WORKERS, len(regions)) + (1 if route53 is not None else 0)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # Submitted first, on a worker of its own: no region ever waits for it, nor it for a region.
        dns_job = pool.submit(build_dns_index, route53) if route53 is not None else None
        surveys = {
            s.region: s
            for s in pool.map(lambda r: survey_region(ec2_for(r), r, now, settings, memory), regions)
        }
        dns = dns_job.result() if dns_job is not None else GUARD_OFF
        for survey in surveys.values():
            hold_back_for_dns(survey, dns)
        candidates = [c for s in surveys.values() for c in s.candidates]
        allowance = settings.max_releases_per_run
        if ledger is not None and not settings.dry_run:
            with _stops_closed(settings, sqs, run_id, "the run's release cap could not be claimed"):
                allowance = ledger.claim(run_id, min(len(candidates), allowance), allowance, now)
        chosen, deferred = release_budget.choose(candidates, allowance)
        for candidate in deferred:
            surveys[candidate.region].report.deferred.append(candidate.allocation_id)
        by_region: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in chosen:
            by_region[candidate.region].append(candidate)
        # list() waits for every region and re-raises anything unexpected from a worker.
        list(
            pool.map(
                lambda r: release_chosen(
                    ec2_for(r), by_region[r], now, settings, surveys[r].report, dns=dns, releases=releases
                ),
                by_region,
            )
        )

    permission = (
        check_release_permission(ec2_for, chosen[0] if chosen else None) if settings.dry_run else None
    )
    reports = {r: s.report for r, s in surveys.items()}
    account_for_earlier(releases, surveys, reports)
    outcome = RunOutcome(
        settings.dry_run,
        run_id,
        reports,
        permission,
        dns.entry(),
        lease=lease,
    )
    _record_metrics(outcome, len(candidates))
    return build_report(outcome, _notify(settings, sqs, outcome))


def _record_metrics(outcome: RunOutcome, candidates: int) -> None:
    metrics.add_metric(name="IdleAddresses", unit=MetricUnit.Count, value=outcome.idle_count)
    metrics.add_metric(name="MarkedAddresses", unit=MetricUnit.Count, value=outcome.marked_count)
    # This attempt's releases: an earlier attempt of the run counted its own.
    released_now = outcome.released_count - outcome.released_earlier_count
    metrics.add_metric(name="ReleasedAddresses", unit=MetricUnit.Count, value=released_now)
    would = outcome.would_release_count
    metrics.add_metric(name="WouldReleaseAddresses", unit=MetricUnit.Count, value=would)
    metrics.add_metric(name="DeferredAddresses", unit=MetricUnit.Count, value=outcome.deferred_count)
    metrics.add_metric(name="AddressErrors", unit=MetricUnit.Count, value=outcome.error_count)
    metrics.add_metric(name="DnsProtectedAddresses", unit=MetricUnit.Count, value=outcome.dns_protected_count)
    metrics.add_metric(name="DnsGuardFailures", unit=MetricUnit.Count, value=int(outcome.dns_guard_failed))
    # Money actually saved: a dry run saves nothing, whatever its report estimates.
    saved = monthly_savings_usd(released_now)
    metrics.add_metric(name="MonthlySavingsUSD", unit=MetricUnit.NoUnit, value=saved)
    logger.info(
        "janitor_run",
        extra={
            "dry_run": outcome.dry_run,
            "regions": sorted(outcome.regions),
            "release_candidates": candidates,
            **outcome.totals(),
        },
    )


def _notify(settings: Settings, sqs: SQSClient | None, outcome: RunOutcome) -> str | None:
    """The queued email's message id, or None when there is nothing worth mailing (or no one to mail)."""
    if sqs is None or not settings.notify.enabled or not worth_mailing(outcome):
        return None
    # One key per run: a retried invocation of the same scheduled event asks the sender for the same
    # email again, and the sender's idempotency store drops the duplicate.
    return settings.notify.send(
        sqs, TEMPLATE, email_data(outcome), idempotency_key=notification_key(outcome.run_id)
    )
