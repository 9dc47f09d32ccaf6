"""EipJanitorFunction's entry point: its schedule (outside hub mode), or a manual invoke, runs the janitor
over this account and returns its report."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eip_janitor.janitor import run_janitor
from eip_janitor.releases import run_scope
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings
from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_ec2 import EC2Client

    from eip_janitor.report import JanitorReport

# Validated at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()


def _ec2(region: str) -> EC2Client:
    return client("ec2", region)


def run_id_of(event: Any, context: LambdaContext) -> str:
    """EventBridge and Lambda's async retries redeliver the same event id. Any other event (a manual
    invoke with `null`, `[]`, `"run"` or an object without a usable id) is a manual run: the request id.

    The id is the one field read, so it is read from the dict itself: Powertools' EventBridgeEvent would
    import every event data class with it, about 40 ms of CPU at each cold start."""
    if isinstance(event, dict):
        event_id = event.get("id")
        if isinstance(event_id, str | int) and not isinstance(event_id, bool) and str(event_id):
            return str(event_id)
    return context.aws_request_id


def account_of(context: LambdaContext) -> str:
    """The function's own account, from its ARN (no STS call): the run ledger keys the lease by it."""
    return context.invoked_function_arn.split(":")[4]


def dry_run_asked(event: Any) -> bool:
    """A manual invoke with {"dry_run": true} previews a real janitor; nothing in an event turns one on."""
    return isinstance(event, dict) and event.get("dry_run") is True


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> JanitorReport:
    settings = replace(SETTINGS, dry_run=True) if dry_run_asked(event) else SETTINGS
    ledger = RunLedger(client("dynamodb"), settings.run_ledger_table) if settings.run_ledger_table else None
    run_id = run_id_of(event, context)
    # Releases are written down under the run's id, so that a redelivery reports what an earlier one released.
    journal = (
        ActionJournal(client("dynamodb"), settings.journal_table).scoped(run_scope(run_id))
        if settings.journal_table and not settings.dry_run
        else None
    )
    return run_janitor(
        settings,
        ec2_for=_ec2,
        sqs=client("sqs") if settings.notify.enabled else None,
        own_region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        now=datetime.now(UTC),
        run_id=run_id,
        route53=client("route53") if settings.dns_guard else None,  # global: one client reads every zone
        ledger=ledger,
        account=account_of(context),
        journal=journal,
    )
