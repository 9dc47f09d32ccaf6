"""Reports verdicts: one log line per bucket, EMF metrics, and one email request per distinct problem."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cors_auditor.rules import at_least
from groundskeeper.notify import email_request, send_email_request
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys

TEMPLATE = "cors-finding"


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def config_hash(configuration: Mapping[str, Any]) -> str:
    """A stable hash of a CORS configuration: the same rules give the same hash, whatever the key order."""
    return _digest(configuration)


def notification_key(bucket: str, cors_hash: str, findings: Sequence[Mapping[str, Any]]) -> str:
    """The same problem on the same configuration gives the same key, in every container."""
    ordered = sorted((f["rule_index"], f["rule_id"], f["severity"], f["detail"]) for f in findings)
    return "cors-" + _digest([bucket, cors_hash, ordered])[:40]


def should_notify(report: Mapping[str, Any], settings: Settings) -> bool:
    return (
        settings.notify
        and report["status"] == "non_compliant"
        and at_least(report["severity"], settings.notify_min_severity)
    )


def findings_summary(findings: Sequence[Mapping[str, Any]]) -> str:
    lines = (f"{f['severity']} rule #{f['rule_index']} {f['rule_id']}: {f['detail']}" for f in findings)
    return "\n".join(lines)


def notify(report: dict[str, Any], sqs: SQSClient, settings: Settings, seen: SeenKeys) -> bool:
    """Queue a cors-finding email for a non-compliant bucket, once per distinct finding set; True if sent."""
    if not should_notify(report, settings):
        return False
    key = notification_key(report["bucket"], report.get("config_hash", ""), report["findings"])
    report["notification_key"] = key
    if key in seen:
        return False
    data = {
        "bucket": report["bucket"],
        "severity": report["severity"],
        "status": report["status"],
        "finding_count": str(len(report["findings"])),
        "findings_summary": findings_summary(report["findings"]),
        "remediated": "true" if report["remediated"] else "false",
        "audited_at": report["audited_at"],
    }
    request = email_request(TEMPLATE, settings.notify_email, data, idempotency_key=key)
    send_email_request(sqs, settings.notify_queue_url, request)
    seen.add(key)
    metrics.add_metric(name="NotificationsQueued", unit=MetricUnit.Count, value=1)
    return True


def log_verdict(report: Mapping[str, Any], source: str) -> None:
    """The one structured line per bucket and invocation (no email content, just the verdict)."""
    logger.info(
        "bucket audited",
        extra={
            "bucket": report["bucket"],
            "status": report["status"],
            "severity": report["severity"],
            "finding_count": len(report["findings"]),
            "rule_ids": sorted({f["rule_id"] for f in report["findings"]}),
            "remediated": report["remediated"],
            "cached": report.get("cached", False),
            "records": report.get("records", 0),
            "trigger_key": report.get("trigger_key"),
            "source": source,
        },
    )


def count_audit(report: Mapping[str, Any]) -> None:
    """EMF metrics of one fresh audit: buckets audited, findings by severity, remediations."""
    metrics.add_metric(name="BucketsAudited", unit=MetricUnit.Count, value=1)
    for severity in ("HIGH", "MEDIUM", "LOW"):
        count = sum(1 for f in report["findings"] if f["severity"] == severity)
        if count:
            metrics.add_metric(name=f"Findings{severity.title()}", unit=MetricUnit.Count, value=count)
    if report["remediated"]:
        metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
