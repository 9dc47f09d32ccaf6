"""Lambda entry point of the EIP janitor: a scheduled (or manual) event in, the janitor's report out.

With MEMBER_ACCOUNTS set (hub mode, docs/organization.md) the scheduled event plans the run instead, one
work item per account, and a batch from the work queue sweeps each item's account."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from eip_janitor.janitor import run_janitor
from eip_janitor.org_worker import sweep_account_eips
from eip_janitor.report import JanitorReport
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import AccountPart, WorkItem
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_ec2 import EC2Client

JOB = "eip-janitor"
# Validated at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
ORG = OrgSettings.from_env()
SESSIONS = org_hub.HubSessions(ORG, lambda: client("sts"))


def _ec2(region: str) -> EC2Client:
    return client("ec2", region)


def _own_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _ledger() -> RunLedger | None:
    return RunLedger(client("dynamodb"), SETTINGS.run_ledger_table) if SETTINGS.run_ledger_table else None


def run_id_of(event: Any, context: LambdaContext) -> str:
    """EventBridge and Lambda's async retries redeliver the same event id. Any other event (a manual
    invoke with `null`, `[]`, `"run"` or an object without a usable id) is a manual run: the request id."""
    if isinstance(event, dict):
        event_id = EventBridgeEvent(event).get("id")
        if isinstance(event_id, str | int) and not isinstance(event_id, bool) and str(event_id):
            return str(event_id)
    return context.aws_request_id


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> JanitorReport | org_hub.PlanReport | dict[str, Any]:
    if ORG.enabled:
        if org_hub.is_work_batch(event, ORG.work_queue_url):
            return _work(event, context)
        return _plan(event, context)
    return run_janitor(
        SETTINGS,
        ec2_for=_ec2,
        sqs=client("sqs") if SETTINGS.notify.enabled else None,
        own_region=_own_region(),
        now=datetime.now(UTC),
        run_id=run_id_of(event, context),
        route53=client("route53") if SETTINGS.dns_guard else None,  # global: one client reads every zone
        ledger=_ledger(),
    )


def _plan(event: Any, context: LambdaContext) -> org_hub.PlanReport:
    org = ORG
    return org_hub.plan(
        org,
        JOB,
        run_id_of(event, context),
        own_account=org_hub.own_account_of(context)[1],
        dynamodb=client("dynamodb"),
        sqs=client("sqs"),
        organizations=client("organizations") if org.members.organization else None,
        now=datetime.now(UTC),
    )


def _work(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sessions = SESSIONS.get(context)
    ledger = _ledger()

    def sweep(item: WorkItem, owner: str | None) -> AccountPart:
        return sweep_account_eips(
            SETTINGS,
            sessions,
            item["account_id"],
            run_id=item["run_id"],
            own_region=_own_region(),
            now=datetime.now(UTC),
            ledger=ledger,
            owner=owner,
        )

    org, notify = ORG, SETTINGS.notify
    return org_hub.work_in_lambda(event, context, job=JOB, org=org, notify=notify, sweep=sweep)
