"""The auditor's report contract: one bucket's verdict and the handler's result, each built only here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from cors_auditor.rules import Finding, FindingRecord, at_least, bucket_severity
from groundskeeper.action_journal import DONE, FAILED

if TYPE_CHECKING:
    from cors_auditor.event_sources import BucketTarget
    from cors_auditor.settings import Settings
    from groundskeeper.action_journal import ActionRecord

# A rewrite refused because the bucket is gone (deleted mid-sweep): the bucket's outcome is "missing".
NO_SUCH_BUCKET = "NoSuchBucket"
EARLIER = "earlier in this run"


class Remediation(TypedDict):
    action: str  # "put" | "delete"
    rewritten_rules: list[int]
    dropped_rules: list[int]
    new_configuration: dict[str, Any] | None  # None: the configuration was deleted


class BucketReport(TypedDict):
    """One bucket's verdict, as cached per container and as the email and the logs read it."""

    bucket: str
    status: str  # compliant | non_compliant | no_cors | missing | access_denied
    severity: str  # NONE | LOW | MEDIUM | HIGH
    findings: list[FindingRecord]
    remediated: bool
    audited_at: str
    config_hash: NotRequired[str]  # when a configuration was read
    previous_configuration: NotRequired[dict[str, Any]]  # when remediation tried to rewrite it
    remediation: NotRequired[Remediation]  # when the rewrite went through
    remediation_error: NotRequired[str]  # AWS's code, when the rewrite was refused
    # What became of the rewrite, in words: "rewritten", "rewritten earlier in this run", "fix failed: <code>"
    # (docs/cors-auditor.md, remediation).
    remediation_note: NotRequired[str]
    notification_key: NotRequired[str]  # when the verdict is worth an email
    # Where the allowlist came from when the bucket's tag was read: global | tag-added | tag-replaced |
    # tag-malformed | tag-unreadable (docs/cors-auditor.md, per-bucket allowlist).
    allowlist_source: NotRequired[str]


class AuditedBucket(BucketReport):
    """A verdict as this invocation returns it: cached or fresh, and what named the bucket."""

    cached: bool
    records: NotRequired[int]  # not for a sweep
    trigger_key: NotRequired[str | None]


class AuditResult(TypedDict):
    """The handler's return value."""

    audited: list[AuditedBucket]
    skipped: int  # records that named nothing the auditor could use
    skip_reasons: dict[str, int]  # SkipReason value -> how many of the skipped records it covers
    source: str


@dataclass(frozen=True)
class RemediationResult:
    """A remediation that was attempted: the configuration it replaced, then the write's action or refusal."""

    previous_configuration: dict[str, Any]
    rewritten: tuple[int, ...]
    dropped: tuple[int, ...]
    new_rules: list[dict[str, Any]]
    action: str | None = None  # "put" | "delete" when the write went through
    error: str | None = None  # the S3 error code when it was refused
    earlier: bool = False  # an earlier attempt of this run made it (read from the action journal)

    @property
    def note(self) -> str:
        when = f" {EARLIER}" if self.earlier else ""
        if self.action is not None:
            return f"rewritten{when}"
        if self.error is not None:
            return f"fix failed{when}: {self.error}"
        return f"rewrite started{when}, outcome unknown"


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def config_hash(configuration: Mapping[str, Any]) -> str:
    """A stable hash of a CORS configuration: the same rules give the same hash, whatever the key order."""
    return _digest(configuration)


def notification_key(bucket: str, cors_hash: str, findings: Sequence[FindingRecord]) -> str:
    """The same problem on the same configuration gives the same key, in every container."""
    ordered = sorted((f["rule_index"], f["rule_id"], f["severity"], f["detail"]) for f in findings)
    return "cors-" + _digest([bucket, cors_hash, ordered])[:40]


def should_notify(status: str, severity: str, settings: Settings) -> bool:
    return (
        settings.notify.enabled
        and status == "non_compliant"
        and at_least(severity, settings.notify_min_severity)
    )


def bucket_report(
    bucket: str,
    read_status: str,
    audited_at: str,
    settings: Settings,
    *,
    configuration: Mapping[str, Any] | None = None,
    findings: Sequence[Finding] = (),
    remediation: RemediationResult | None = None,
    allowlist_source: str | None = None,
) -> BucketReport:
    """The verdict on one bucket; `read_status` is what reading its CORS gave (ok, no_cors, missing, ...)."""
    if remediation is not None and remediation.error == NO_SUCH_BUCKET:
        read_status = "missing"
    status = ("non_compliant" if findings else "compliant") if read_status == "ok" else read_status
    severity = bucket_severity(findings)
    records = [f.to_dict() for f in findings]
    report: BucketReport = {
        "bucket": bucket,
        "status": status,
        "severity": severity,
        "findings": records,
        "remediated": remediation is not None and remediation.action is not None,
        "audited_at": audited_at,
    }
    if allowlist_source is not None:
        report["allowlist_source"] = allowlist_source
    cors_hash = config_hash(configuration) if configuration is not None else ""
    if configuration is not None:
        report["config_hash"] = cors_hash
    if remediation is not None:
        report["previous_configuration"] = remediation.previous_configuration
        if remediation.action is not None:
            report["remediation"] = {
                "action": remediation.action,
                "rewritten_rules": list(remediation.rewritten),
                "dropped_rules": list(remediation.dropped),
                "new_configuration": {"CORSRules": remediation.new_rules} if remediation.new_rules else None,
            }
        elif remediation.error is not None:
            report["remediation_error"] = remediation.error
        report["remediation_note"] = remediation.note
    if should_notify(status, severity, settings):
        report["notification_key"] = notification_key(bucket, cors_hash, records)
    return report


def rewrite_detail(
    findings: Sequence[Finding], audited_at: str, allowlist_source: str | None, plan: RemediationResult
) -> dict[str, Any]:
    """What the journal keeps of a rewrite for its report: a retry rebuilds the same verdict from it."""
    return {
        "findings": [f.to_dict() for f in findings],
        "audited_at": audited_at,
        "allowlist_source": allowlist_source,
        "rewritten": list(plan.rewritten),
        "dropped": list(plan.dropped),
        "new_rules": plan.new_rules,
    }


def journaled_remediation(record: ActionRecord, *, confirmed: bool = False) -> RemediationResult:
    """The rewrite an earlier attempt of this run wrote down; `confirmed`: an intent whose outcome was never
    written, but whose configuration the bucket now holds."""
    detail = record.detail
    action = None
    if record.status == DONE or confirmed:
        action = "put" if detail.get("new_rules") else "delete"
    return RemediationResult(
        previous_configuration=dict(record.before.get("configuration") or {}),
        rewritten=tuple(detail.get("rewritten") or ()),
        dropped=tuple(detail.get("dropped") or ()),
        new_rules=list(detail.get("new_rules") or []),
        action=action,
        error=(record.error or "Unknown") if record.status == FAILED else None,
        earlier=True,
    )


def journaled_report(
    bucket: str, record: ActionRecord, settings: Settings, *, confirmed: bool = False
) -> BucketReport:
    """A bucket's verdict as the rewrite's record tells it: the findings it had and what became of them, under
    the same notification key as the attempt that rewrote it, so the sender keeps it to one email."""
    detail = record.detail
    findings = [Finding(**f) for f in detail.get("findings") or []]
    remediation = journaled_remediation(record, confirmed=confirmed)
    return bucket_report(
        bucket,
        "ok",
        str(detail.get("audited_at") or record.intended_at),
        settings,
        configuration=remediation.previous_configuration,
        findings=findings,
        remediation=remediation,
        allowlist_source=detail.get("allowlist_source"),
    )


def audited_bucket(report: BucketReport, *, cached: bool, target: BucketTarget | None) -> AuditedBucket:
    if target is None:  # a sweep: nothing named the bucket, so no records or trigger key
        # mypy refuses a ** that leaves NotRequired keys out; this dict is exactly the documented shape.
        return cast("AuditedBucket", {**report, "cached": cached})
    return AuditedBucket(**report, cached=cached, records=target.records, trigger_key=target.first_key)
