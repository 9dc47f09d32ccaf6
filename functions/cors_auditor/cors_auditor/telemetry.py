"""What each verdict leaves in CloudWatch: one structured log line per bucket, and EMF metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from cors_auditor.report import AuditedBucket, BucketReport


def log_verdict(entry: AuditedBucket, source: str) -> None:
    """The one structured line per bucket and invocation (no email content, just the verdict)."""
    logger.info(
        "bucket audited",
        extra={
            "bucket": entry["bucket"],
            "status": entry["status"],
            "severity": entry["severity"],
            "finding_count": len(entry["findings"]),
            "rule_ids": sorted({f["rule_id"] for f in entry["findings"]}),
            "remediated": entry["remediated"],
            "cached": entry["cached"],
            "records": entry.get("records", 0),
            "trigger_key": entry.get("trigger_key"),
            "source": source,
        },
    )


def count_audit(report: BucketReport) -> None:
    """EMF metrics of one fresh audit: buckets audited, findings by severity, remediations."""
    metrics.add_metric(name="BucketsAudited", unit=MetricUnit.Count, value=1)
    for severity in ("HIGH", "MEDIUM", "LOW"):
        count = sum(1 for f in report["findings"] if f["severity"] == severity)
        if count:
            metrics.add_metric(name=f"Findings{severity.title()}", unit=MetricUnit.Count, value=count)
    if report["remediated"]:
        metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
