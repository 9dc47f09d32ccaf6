"""The auditor's logic: judge each bucket an event names (cached during bursts), remediate, report."""

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
)
from cors_auditor.rules import evaluate
from cors_auditor.telemetry import count_audit, log_verdict
from groundskeeper.errors import error_code
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.event_sources import Targets
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache


def audit_bucket(s3: S3Client, bucket: str, settings: Settings) -> BucketReport:
    """Read one bucket's CORS, judge it, and rewrite offending origins when remediation is on."""
    read = read_cors(s3, bucket)
    audited_at = datetime.now(UTC).isoformat(timespec="seconds")
    if read.status != "ok":  # no_cors, or an audit that failed: nothing to judge, never remediated
        return bucket_report(bucket, read.status, audited_at, settings)
    configuration = {"CORSRules": read.rules}
    allowlist = bucket_allowlist(s3, bucket, settings)
    findings = evaluate(configuration, allowlist.origins)
    if allowlist.finding is not None:
        findings.insert(0, allowlist.finding)
    remediation = (
        _remediate(s3, bucket, configuration, allowlist.origins) if findings and settings.remediate else None
    )
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
    s3: S3Client, bucket: str, configuration: dict[str, Any], allowed_origins: Sequence[str]
) -> RemediationResult | None:
    """Rewrite the bucket's CORS as planned; None when the plan changes nothing (report-only findings)."""
    plan = plan_remediation(configuration, allowed_origins)
    if not plan.changes:
        return None
    # Saved before the write, in the log and in the report: `python -m cors_auditor.restore` takes either.
    logger.info(
        "previous CORS configuration saved before remediation",
        extra={"bucket": bucket, "previous_configuration": configuration},
    )
    attempted = RemediationResult(configuration, plan.rewritten, plan.dropped, plan.rules)
    try:
        action = write_cors(s3, bucket, plan.rules)
    except ClientError as exc:
        code = error_code(exc)
        if code not in DENIED_CODES:
            raise
        logger.warning(
            "access denied rewriting the bucket's CORS: grant s3:PutBucketCORS (CorsRemediation=fix)",
            extra={"bucket": bucket, "error_code": code},
        )
        return replace(attempted, error=code)
    return replace(attempted, action=action)


def _audit_all(s3: S3Client, buckets: list[str], settings: Settings) -> list[BucketReport]:
    if len(buckets) <= 1:
        return [audit_bucket(s3, bucket, settings) for bucket in buckets]
    # Only sweeps and multi-bucket batches get here (imported lazily, off the cold start); the pool is
    # bounded so S3 does not throttle us.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(settings.sweep_concurrency, len(buckets))) as pool:
        return list(pool.map(lambda bucket: audit_bucket(s3, bucket, settings), buckets))


def run_audit(
    targets: Targets,
    *,
    s3: S3Client,
    settings: Settings,
    cache: VerdictCache,
    seen: SeenKeys,
    sqs: SQSClient | None = None,
) -> AuditResult:
    """Audit every bucket the event names (or every bucket, for a sweep): the handler's return value."""
    names = list_bucket_names(s3) if targets.sweep else list(targets.buckets)
    cached: dict[str, BucketReport] = {}
    for name in names:
        hit = None if targets.fresh else cache.get(name, settings.audit_cache_seconds)
        if hit is not None:
            cached[name] = hit
    fresh = {r["bucket"]: r for r in _audit_all(s3, [n for n in names if n not in cached], settings)}
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
