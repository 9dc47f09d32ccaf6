"""The CLI's commands as plain functions over injected clients: each calls the functions the handlers call."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cors_auditor.audit import run_audit
from cors_auditor.bucket_store import list_bucket_names
from cors_auditor.event_sources import Targets
from cors_auditor.restore import restore, saved_configurations
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from eip_janitor.janitor import run_janitor
from eip_janitor.settings import resolve_regions
from email_sender.email_request import parse_email_request
from email_sender.ses_delivery import send_email
from email_sender.template_store import TemplateStore
from email_sender.template_sync import ensure, list_names
from groundskeeper.notify import email_request, send_email_request
from groundskeeper_cli.output import Progress

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from cors_auditor.report import AuditedBucket
    from cors_auditor.settings import Settings as AuditorSettings
    from eip_janitor.report import JanitorReport
    from eip_janitor.settings import Settings as JanitorSettings

CLI_SOURCE = "cli"
# Validation needs a From; a dry run sends nothing and a queued request gets the deployed sender's
# SENDER_EMAIL, so only a direct send needs a real one. This stand-in is never sent, nor put in the request.
_UNSENT_FROM = "sender-not-needed@example.com"


def audit_cors(
    s3: S3Client,
    settings: AuditorSettings,
    buckets: Sequence[str] | None,
    *,
    progress: Callable[[int], Progress] | None = None,
) -> dict[str, Any]:
    """The auditor's own run_audit over the named buckets (None: every bucket), in chunks for the progress
    bar; always fresh (no verdict cache across a CLI run) and never emailed."""
    names = list_bucket_names(s3) if buckets is None else list(dict.fromkeys(buckets))
    bar = progress(len(names)) if progress is not None else None
    audited: list[AuditedBucket] = []
    skipped = 0
    reasons: dict[str, int] = {}
    chunk = max(1, settings.sweep_concurrency)
    for start in range(0, len(names), chunk):
        targets = Targets(source=CLI_SOURCE, fresh=True)
        for name in names[start : start + chunk]:
            targets.add(name)
        result = run_audit(targets, s3=s3, settings=settings, cache=VerdictCache(), seen=SeenKeys())
        audited.extend(result["audited"])
        skipped += result["skipped"]
        for reason, count in result["skip_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
        if bar is not None:
            bar.advance(len(names[start : start + chunk]))
    return {"audited": audited, "skipped": skipped, "skip_reasons": reasons, "source": CLI_SOURCE}


def restore_cors(s3: S3Client, document: Any, bucket: str | None, *, dry_run: bool) -> dict[str, Any]:
    saved = saved_configurations(document, bucket)
    if dry_run:
        return {"would_restore": saved}
    return {"restored": restore(s3, saved)}


def sweep_eips(
    settings: JanitorSettings,
    *,
    ec2_for: Callable[[str], EC2Client],
    own_region: str,
    route53: Route53Client | None,
    progress: Callable[[int], Progress] | None = None,
) -> JanitorReport:
    """The janitor's own run_janitor, never emailing; the progress bar counts regions as each starts."""
    regions = resolve_regions(settings.regions, own_region, ec2_for)
    bar = progress(len(regions)) if progress is not None else None
    started: set[str] = set()

    def tracked(region: str) -> EC2Client:
        if bar is not None and region not in started:
            started.add(region)
            bar.advance()
        return ec2_for(region)

    return run_janitor(
        replace(settings, regions=tuple(regions)),
        ec2_for=tracked,
        sqs=None,
        own_region=own_region,
        now=datetime.now(UTC),
        run_id=f"cli-{uuid.uuid4()}",
        route53=route53,
    )


def send_one_email(
    ses: SESClient,
    *,
    template: str,
    to: Sequence[str],
    data: dict[str, Any],
    sender: str,
    queue: tuple[SQSClient, str] | None,
    configuration_set: str = "",
    dry_run: bool = False,
) -> dict[str, Any]:
    """Validate the request as the sender does, render it with the sender's template store, then queue it
    (the production path, idempotent), send it directly through the sender's SES adapter, or only show it.

    Raises PermanentError(code, reason) for a request or template the sender would refuse, and ValueError
    for a direct send with no sender."""
    if not sender and not dry_run and queue is None:
        raise ValueError(
            "a direct send needs a From: --from or SENDER_EMAIL (--dry-run and --queue-url do not)"
        )
    request = email_request(template, to, data, sender=sender or None)
    parsed = parse_email_request(json.dumps(request), default_sender=sender or _UNSENT_FROM)
    rendered = TemplateStore(ttl_seconds=0).get(ses, parsed.template).render(parsed.data)
    shown = {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
    if dry_run:
        return {"would_send": request, "rendered": shown}
    if queue is not None:
        sqs, queue_url = queue
        return {"queued": send_email_request(sqs, queue_url, request)}
    return {"sent": send_email(ses, parsed, rendered, configuration_set)}


def templates(ses: SESClient, action: str, name: str | None) -> Any:
    """template_sync's own functions: sync (create or update the bundled ones), list, get, delete."""
    if action == "sync":
        return ensure(ses, name)
    if action == "list":
        return list_names(ses)
    if not name:
        raise ValueError(f"templates {action} needs a template NAME")
    if action == "get":
        return ses.get_template(TemplateName=name)["Template"]
    ses.delete_template(TemplateName=name)
    return {name: "deleted"}
