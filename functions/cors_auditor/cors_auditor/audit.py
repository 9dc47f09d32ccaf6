"""The auditor's logic: judge each bucket an event names (cached during bursts), remediate, report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cors_auditor.bucket_store import DENIED_CODES, list_bucket_names, read_cors, write_cors
from cors_auditor.remediation import plan_remediation
from cors_auditor.reporting import config_hash, count_audit, log_verdict, notify
from cors_auditor.rules import bucket_severity, evaluate
from groundskeeper.errors import error_code
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.event_sources import Targets
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache


def audit_bucket(s3: S3Client, bucket: str, settings: Settings) -> dict[str, Any]:
    """Read one bucket's CORS, judge it, and rewrite offending origins when remediation is on."""
    read = read_cors(s3, bucket)
    report: dict[str, Any] = {
        "bucket": bucket,
        "status": read.status,
        "severity": "NONE",
        "findings": [],
        "remediated": False,
        "audited_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if read.status != "ok":  # no_cors, or an audit that failed: nothing to judge, never remediated
        return report
    configuration = {"CORSRules": read.rules}
    findings = evaluate(configuration, settings.allowed_origins)
    report.update(
        status="non_compliant" if findings else "compliant",
        severity=bucket_severity(findings),
        findings=[f.to_dict() for f in findings],
        config_hash=config_hash(configuration),
    )
    if findings and settings.remediate:
        _remediate(s3, report, configuration, settings)
    return report


def _remediate(
    s3: S3Client, report: dict[str, Any], configuration: dict[str, Any], settings: Settings
) -> None:
    plan = plan_remediation(configuration, settings.allowed_origins)
    if not plan.changes:  # only findings that remediation reports but never rewrites
        return
    bucket = report["bucket"]
    # Saved before the write, in the log and in the report: `python -m cors_auditor.restore` takes either.
    logger.info(
        "previous CORS configuration saved before remediation",
        extra={"bucket": bucket, "previous_configuration": configuration},
    )
    report["previous_configuration"] = configuration
    try:
        action = write_cors(s3, bucket, plan.rules)
    except ClientError as exc:
        if error_code(exc) not in DENIED_CODES:
            raise
        logger.warning(
            "access denied rewriting the bucket's CORS: grant s3:PutBucketCORS (CorsRemediation=fix)",
            extra={"bucket": bucket, "error_code": error_code(exc)},
        )
        report["remediation_error"] = error_code(exc)
        return
    report["remediated"] = True
    report["remediation"] = {
        "action": action,
        "rewritten_rules": list(plan.rewritten),
        "dropped_rules": list(plan.dropped),
        "new_configuration": {"CORSRules": plan.rules} if plan.rules else None,
    }


def _audit_all(s3: S3Client, buckets: list[str], settings: Settings) -> list[dict[str, Any]]:
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
) -> dict[str, Any]:
    """Audit every bucket the event names (or every bucket, for a sweep): the handler's return value."""
    names = list_bucket_names(s3) if targets.sweep else list(targets.buckets)
    reports: dict[str, dict[str, Any]] = {}
    for name in names:
        cached = None if targets.fresh else cache.get(name, settings.audit_cache_seconds)
        if cached is not None:
            reports[name] = {**cached, "cached": True}
    fresh = _audit_all(s3, [name for name in names if name not in reports], settings)
    for report in fresh:
        count_audit(report)
        if sqs is not None:
            notify(report, sqs, settings, seen)
        # Cached only once reported, so a failed send is retried with the invocation.
        cache.put(report["bucket"], report)
        reports[report["bucket"]] = {**report, "cached": False}
    audited = []
    for name in names:
        target = targets.buckets.get(name)
        report = reports[name]
        if target is not None:
            report.update(records=target.records, trigger_key=target.first_key)
        log_verdict(report, targets.source)
        audited.append(report)
    metrics.add_metric(name="CachedVerdicts", unit=MetricUnit.Count, value=len(names) - len(fresh))
    if targets.skipped:
        metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=targets.skipped)
    return {"audited": audited, "skipped": targets.skipped, "source": targets.source}
