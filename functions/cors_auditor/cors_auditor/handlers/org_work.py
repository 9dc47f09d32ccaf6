"""CorsOrgWorkerFunction's entry point (hub mode): each item from the CORS sweep's work queue sweeps one
member account, and the run's last part sends its one email (docs/organization.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cors_auditor.org_worker import sweep_account_cors
from cors_auditor.settings import Settings
from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import journal_scope
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from groundskeeper_org.runs import AccountPart, WorkItem

JOB = "cors-sweep"
# Read at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
ORG = OrgSettings.from_env()
SESSIONS = org_hub.HubSessions(ORG, lambda: client("sts"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sessions = SESSIONS.get(context)
    # Rewrites are journaled under the run and the account; only with remediation on is there any.
    journal = (
        ActionJournal(client("dynamodb"), SETTINGS.journal_table)
        if SETTINGS.remediate and SETTINGS.journal_table
        else None
    )

    def sweep(item: WorkItem, owner: str | None) -> AccountPart:
        scoped = journal.scoped(journal_scope(item)) if journal is not None else None
        return sweep_account_cors(SETTINGS, sessions, item["account_id"], owner=owner, journal=scoped)

    return org_hub.work_in_lambda(event, context, job=JOB, org=ORG, notify=SETTINGS.notify, sweep=sweep)
