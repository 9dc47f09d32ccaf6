"""EipOrgWorkerFunction's entry point (hub mode): each item from the janitor's work queue runs the janitor in
one member account, and the run's last part sends its one email (docs/organization.md)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eip_janitor.org_worker import sweep_account_eips
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings
from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import journal_scope
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from groundskeeper_org.runs import AccountPart, WorkItem

JOB = "eip-janitor"
# Validated at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
ORG = OrgSettings.from_env()
SESSIONS = org_hub.HubSessions(ORG, lambda: client("sts"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, sessions = SETTINGS, SESSIONS.get(context)
    ledger = RunLedger(client("dynamodb"), settings.run_ledger_table) if settings.run_ledger_table else None
    own_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    # Releases are written down under the run and the account: the part counts them (one Query).
    journal = (
        ActionJournal(client("dynamodb"), ORG.journal_table)
        if ORG.journal_table and not settings.dry_run
        else None
    )

    def sweep(item: WorkItem, owner: str | None) -> AccountPart:
        return sweep_account_eips(
            settings,
            sessions,
            item["account_id"],
            run_id=item["run_id"],
            own_region=own_region,
            now=datetime.now(UTC),
            ledger=ledger,
            owner=owner,
            journal=journal.scoped(journal_scope(item)) if journal is not None else None,
        )

    return org_hub.work_in_lambda(event, context, job=JOB, org=ORG, notify=settings.notify, sweep=sweep)
