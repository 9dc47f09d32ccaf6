"""Lambda entry point of the CORS auditor: parse the event, run the audit, return the report.

With MEMBER_ACCOUNTS set (hub mode, docs/organization.md) the sweep schedule plans the run instead, one
work item per account, and a batch from the work queue sweeps each item's account. Uploads and CORS
changes in the hub's own account are audited as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cors_auditor.audit import run_audit
from cors_auditor.event_sources import targets_from_event
from cors_auditor.org_worker import sweep_account_cors
from cors_auditor.report import AuditResult
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import AccountPart, WorkItem
from groundskeeper_org.settings import OrgSettings

JOB = "cors-sweep"
# Read at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
# Per warm container: what makes a burst of uploads cost one GetBucketCors and one email.
VERDICTS = VerdictCache()
NOTIFIED = SeenKeys()
ORG = OrgSettings.from_env()
SESSIONS = org_hub.HubSessions(ORG, lambda: client("sts"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> AuditResult | org_hub.PlanReport | dict[str, Any]:
    org = ORG
    if org.enabled and org_hub.is_work_batch(event, org.work_queue_url):
        return _work(event, context)
    targets = targets_from_event(event)
    if org.enabled and targets.sweep:
        return _plan(event, context)
    sqs = client("sqs") if SETTINGS.notify.enabled else None
    return run_audit(targets, s3=client("s3"), settings=SETTINGS, cache=VERDICTS, seen=NOTIFIED, sqs=sqs)


def _plan(event: dict[str, Any], context: LambdaContext) -> org_hub.PlanReport:
    # EventBridge redelivers a schedule with the same id: the run's header is then written once.
    event_id = event.get("id")
    run_id = event_id if isinstance(event_id, str) and event_id else context.aws_request_id
    return org_hub.plan(
        ORG,
        JOB,
        run_id,
        own_account=org_hub.own_account_of(context)[1],
        dynamodb=client("dynamodb"),
        sqs=client("sqs"),
        organizations=client("organizations") if ORG.members.organization else None,
        now=datetime.now(UTC),
    )


def _work(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sessions = SESSIONS.get(context)

    def sweep(item: WorkItem, owner: str | None) -> AccountPart:
        return sweep_account_cors(SETTINGS, sessions, item["account_id"], owner=owner)

    org, notify = ORG, SETTINGS.notify
    return org_hub.work_in_lambda(event, context, job=JOB, org=org, notify=notify, sweep=sweep)
