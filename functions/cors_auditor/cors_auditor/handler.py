"""Lambda entry point of the CORS auditor: parse the event, run the audit, return the report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cors_auditor.audit import run_audit
from cors_auditor.event_sources import targets_from_event
from cors_auditor.report import AuditResult
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics

# Read at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
# Per warm container: what makes a burst of uploads cost one GetBucketCors and one email.
VERDICTS = VerdictCache()
NOTIFIED = SeenKeys()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> AuditResult:
    targets = targets_from_event(event)
    sqs = client("sqs") if SETTINGS.notify.enabled else None
    return run_audit(targets, s3=client("s3"), settings=SETTINGS, cache=VERDICTS, seen=NOTIFIED, sqs=sqs)
