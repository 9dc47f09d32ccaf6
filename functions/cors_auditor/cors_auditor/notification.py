"""The cors-finding email: its template data, queued once per distinct problem per container."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from groundskeeper.observability import MetricUnit, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.report import BucketReport
    from cors_auditor.rules import FindingRecord
    from cors_auditor.verdict_cache import SeenKeys
    from groundskeeper.notify import Notifier

TEMPLATE = "cors-finding"


class CorsFindingData(TypedDict):
    """The `cors-finding` template's data: flat strings only (the sender's contract)."""

    bucket: str
    severity: str
    status: str
    finding_count: str
    findings_summary: str
    remediated: str
    remediation: str  # what became of the rewrite, in words; "" when none was tried
    audited_at: str


def findings_summary(findings: Sequence[FindingRecord]) -> str:
    # A negative index is a finding about the bucket itself (its allowlist tag), not about a CORS rule. A
    # reader counts rules from 1, in the order the bucket's CORS configuration lists them (the report's
    # `rule_index` counts from 0).
    lines = (
        f"{f['severity']} {'bucket' if f['rule_index'] < 0 else f'rule #{f["rule_index"] + 1}'} "
        f"{f['rule_id']}: {f['detail']}"
        for f in findings
    )
    return "\n".join(lines)


def email_data(report: BucketReport) -> CorsFindingData:
    return {
        "bucket": report["bucket"],
        "severity": report["severity"],
        "status": report["status"],
        "finding_count": str(len(report["findings"])),
        "findings_summary": findings_summary(report["findings"]),
        "remediated": "true" if report["remediated"] else "false",
        "remediation": report.get("remediation_note", ""),
        "audited_at": report["audited_at"],
    }


def notify(report: BucketReport, sqs: SQSClient, notifier: Notifier, seen: SeenKeys) -> bool:
    """Queue the email of a verdict that carries a notification key this container has not queued yet."""
    key = report.get("notification_key")
    if key is None or key in seen:
        return False
    notifier.send(sqs, TEMPLATE, email_data(report), idempotency_key=key)
    seen.add(key)
    metrics.add_metric(name="NotificationsQueued", unit=MetricUnit.Count, value=1)
    return True
