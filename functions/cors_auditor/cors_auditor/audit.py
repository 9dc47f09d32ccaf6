"""The auditor's logic: judge each bucket an event names (cached during bursts), remediate, report.

With remediation on and an action journal, each rewrite is written down (with the configuration it replaces)
before PutBucketCors and its outcome after; a bucket that an earlier attempt of the same run or event
rewrote is reported from that record, so a retry that finds it compliant still reports the rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cors_auditor.allowlist_tag import Allowlist, effective_allowlist
from cors_auditor.bucket_store import DENIED_CODES, list_bucket_names, read_cors, read_tag, write_cors
from cors_auditor.notification import notify
from cors_auditor.remediation import plan_remediation
from cors_auditor.report import (
    AuditResult,
    BucketReport,
    RemediationResult,
    audited_bucket,
    bucket_report,
    config_hash,
    journaled_remediation,
    journaled_report,
    rewrite_detail,
)
from cors_auditor.rewrites import Rewrites
from cors_auditor.rules import evaluate
from cors_auditor.telemetry import count_audit, log_verdict
from groundskeeper.action_journal import INTENDED
from groundskeeper.errors import error_code
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.bucket_store import CorsRead
    from cors_auditor.event_sources import Targets
    from cors_auditor.rules import Finding
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache
    from groundskeeper.action_journal import ActionRecord, ScopedJournal

NO_REWRITES = Rewrites()


def audit_bucket(
    s3: S3Client, bucket: str, settings: Settings, rewrites: Rewrites = NO_REWRITES
) -> BucketReport:
    """Read one bucket's CORS, judge it, and rewrite offending origins when remediation is on; a bucket an
    earlier attempt of this run rewrote is reported from the journal."""
    read = read_cors(s3, bucket)
    audited_at = datetime.now(UTC).isoformat(timespec="seconds")
    earlier = rewrites.earlier(bucket)
    if read.status != "ok":  # no_cors, or an audit that failed: nothing to judge, never remediated
        if earlier is not None:  # e.g. no_cors: the rewrite deleted the configuration
            return _earlier_report(rewrites, bucket, earlier, read, settings)
        return bucket_report(bucket, read.status, audited_at, settings)
    configuration = {"CORSRules": read.rules}
    allowlist = bucket_allowlist(s3, bucket, settings)
    findings = evaluate(configuration, allowlist.origins)
    if allowlist.finding is not None:
        findings.insert(0, allowlist.finding)
    remediation = None
    if findings and settings.remediate:
        remediation = _remediate(
            s3,
            bucket,
            configuration,
            allowlist.origins,
            rewrites=rewrites,
            findings=findings,
            audited_at=audited_at,
            allowlist_source=allowlist.source,
        )
    if remediation is None and earlier is not None:
        return _earlier_report(rewrites, bucket, earlier, read, settings)
    return bucket_report(
        bucket,
        read.status,
        audited_at,
        settings,
        configuration=configuration,
        findings=findings,
        remediation=remediation,
        allowlist_source=allowlist.source,
    )


def _earlier_report(
    rewrites: Rewrites, bucket: str, record: ActionRecord, read: CorsRead, settings: Settings
) -> BucketReport:
    """The verdict an earlier attempt reached, from its record. An intent without an outcome (the attempt
    stopped after PutBucketCors, or before it) is confirmed when the bucket now holds the planned rules."""
    confirmed = False
    if record.status == INTENDED:
        planned = record.detail.get("new_rules") or []
        confirmed = (read.status == "ok" and read.rules == planned) or (
            read.status == "no_cors" and not planned
        )
        if confirmed:
            rewrites.done(record)
            logger.info(
                "rewrite confirmed from the bucket", extra={"bucket": bucket, "action": record.action}
            )
    return journaled_report(bucket, record, settings, confirmed=confirmed)


def bucket_allowlist(s3: S3Client, bucket: str, settings: Settings) -> Allowlist:
    """The allowlist that judges `bucket`: the global one, or its tag's (one GetBucketTagging, cached with the
    verdict); an unreadable tag leaves the global list in force."""
    if not settings.allowlist_tag_key:
        return Allowlist(settings.allowed_origins)
    tag = read_tag(s3, bucket, settings.allowlist_tag_key)
    if tag.error is not None:
        return Allowlist(settings.allowed_origins, "tag-unreadable")
    return effective_allowlist(tag.value, settings.allowed_origins, settings.allowlist_tag_key)


def _remediate(
    s3: S3Client,
    bucket: str,
    configuration: dict[str, Any],
    allowed_origins: Sequence[str],
    *,
    rewrites: Rewrites,
    findings: Sequence[Finding],
    audited_at: str,
    allowlist_source: str | None,
) -> RemediationResult | None:
    """Rewrite the bucket's CORS as planned; None when the plan changes nothing (report-only findings).

    The intent goes to the journal first; S3's refusal, whatever its code, is this bucket's outcome ("fix
    failed: <code>"), never the run's: the finding still goes out, and the sweep goes on."""
    plan = plan_remediation(configuration, allowed_origins)
    if not plan.changes:
        return None
    # Saved before the write, in the log and in the report: `python -m cors_auditor.restore` takes either.
    logger.info(
        "previous CORS configuration saved before remediation",
        extra={"bucket": bucket, "previous_configuration": configuration},
    )
    attempted = RemediationResult(configuration, plan.rewritten, plan.dropped, plan.rules)
    record, new = rewrites.intend(
        bucket,
        configuration,
        config_hash(configuration),
        rewrite_detail(findings, audited_at, allowlist_source, attempted),
    )
    if record is not None and not new and record.status != INTENDED:
        # This run already rewrote this very configuration (or S3 refused it): its outcome stands.
        return journaled_remediation(record)
    try:
        action = write_cors(s3, bucket, plan.rules)
    except ClientError as exc:
        code = error_code(exc) or "ClientError"
        rewrites.failed(record, code)
        if code in DENIED_CODES:
            logger.warning(
                "access denied rewriting the bucket's CORS: grant s3:PutBucketCORS (CorsRemediation=fix)",
                extra={"bucket": bucket, "error_code": code},
            )
        else:
            logger.warning("rewriting the bucket's CORS failed", extra={"bucket": bucket, "error_code": code})
        return replace(attempted, error=code)
    rewrites.done(record)
    return replace(attempted, action=action)


def _audit_all(
    s3: S3Client, buckets: list[str], settings: Settings, rewrites: Rewrites
) -> list[BucketReport]:
    if len(buckets) <= 1:
        return [audit_bucket(s3, bucket, settings, rewrites) for bucket in buckets]
    # Only sweeps and multi-bucket batches get here (imported lazily, off the cold start); the pool is
    # bounded so S3 does not throttle us.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(settings.sweep_concurrency, len(buckets))) as pool:
        return list(pool.map(lambda bucket: audit_bucket(s3, bucket, settings, rewrites), buckets))


def run_audit(
    targets: Targets,
    *,
    s3: S3Client,
    settings: Settings,
    cache: VerdictCache,
    seen: SeenKeys,
    sqs: SQSClient | None = None,
    journal: ScopedJournal | None = None,
) -> AuditResult:
    """Audit every bucket the event names (or every bucket, for a sweep): the handler's return value.

    `journal` is this run's or event's scope of the action journal, used with remediation on: one Query
    reads what an earlier attempt rewrote, and each rewrite is written down before it is made."""
    rewrites = Rewrites.load(journal) if settings.remediate else NO_REWRITES
    names = list_bucket_names(s3) if targets.sweep else list(targets.buckets)
    # A bucket rewritten earlier in this run is reported even when it is gone since.
    names += [bucket for bucket in rewrites.buckets() if bucket not in names]
    cached: dict[str, BucketReport] = {}
    for name in names:
        if targets.fresh or rewrites.earlier(name) is not None:
            continue
        hit = cache.get(name, settings.audit_cache_seconds)
        if hit is not None:
            cached[name] = hit
    unknown = [name for name in names if name not in cached]
    fresh = {r["bucket"]: r for r in _audit_all(s3, unknown, settings, rewrites)}
    for report in fresh.values():
        count_audit(report)
        if sqs is not None:
            notify(report, sqs, settings.notify, seen)
        # Cached only once reported, so a failed send is retried with the invocation.
        cache.put(report["bucket"], report)
    audited = []
    for name in names:
        entry = audited_bucket(
            cached.get(name) or fresh[name], cached=name in cached, target=targets.buckets.get(name)
        )
        log_verdict(entry, targets.source)
        audited.append(entry)
    metrics.add_metric(name="CachedVerdicts", unit=MetricUnit.Count, value=len(cached))
    if targets.skipped:
        metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=targets.skipped)
    return {
        "audited": audited,
        "skipped": targets.skipped,
        "skip_reasons": dict(targets.reasons),
        "source": targets.source,
    }
