"""The hub's two halves: `plan` (the planner's: one work item per account) and `work` (a worker's: a batch
from its job's work queue sweeps each item's account). The janitor's and the auditor's workers share `work`;
each passes its own job name and its own one-account sweep."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from groundskeeper.aws_clients import client
from groundskeeper.dead_letter import MAX_REASON_CHARS, dead_letter, receive_count
from groundskeeper.errors import PermanentError, coded_failure
from groundskeeper.observability import MetricUnit, logger, metrics
from groundskeeper_org.accounts import AccountSessions, list_member_accounts, owner_from_tag, resolve_owner
from groundskeeper_org.runs import (
    BAD_WORK_ITEM,
    AccountPart,
    RunParts,
    WorkItem,
    parse_work_item,
    plan_run,
    process_work_item,
)
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from groundskeeper.notify import Notifier


class PlanReport(TypedDict):
    """What the planner returns: the run it planned and how many items it queued."""

    run_id: str
    job: str
    queued: int


def plan(
    org: OrgSettings,
    job: str,
    run_id: str,
    *,
    own_account: str,
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    organizations: Any,
    now: datetime,
) -> PlanReport:
    """List the run's accounts (Organizations only for `organization`), write its header, queue its items."""
    accounts = list_member_accounts(org.members, own_account=own_account, organizations=organizations)
    queued = plan_run(
        run_id,
        job,
        accounts,
        RunParts(dynamodb, org.runs_table),
        sqs=sqs,
        queue_url=org.work_queue_urls[job],
        now=now,
    )
    logger.info("org run planned", extra={"run_id": run_id, "job": job, "accounts": queued})
    return {"run_id": run_id, "job": job, "queued": queued}


def own_account_of(context: LambdaContext) -> tuple[str, str]:
    """(partition, account id) of the function itself, from its ARN: no STS call at cold start."""
    parts = context.invoked_function_arn.split(":")
    return parts[1], parts[4]


class HubSessions:
    """The container's AccountSessions, made on first use (the account comes from the first context), so
    assumed credentials are reused by every later item until they near expiry."""

    def __init__(self, org: OrgSettings, sts: Callable[[], Any]) -> None:
        self._org = org
        self._sts = sts
        self._sessions: AccountSessions | None = None

    def get(self, context: LambdaContext) -> AccountSessions:
        if self._sessions is None:
            partition, account = own_account_of(context)
            self._sessions = AccountSessions(
                self._sts(), role_name=self._org.role_name, own_account=account, partition=partition
            )
        return self._sessions


@functools.cache
def _processor() -> BatchProcessor:
    """Built once per container, on the first work batch: Powertools' batch module imports asyncio and every
    event data class (about 20 ms), which a function outside hub mode must not pay at cold start."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    class WorkProcessor(BatchProcessor):
        """Powertools logs a failed record at debug level only; a failed work item is an error here."""

        def failure_handler(self, record: Any, exception: Any) -> Any:
            code, message = coded_failure(exception[1])
            logger.error(
                "work item failed: SQS delivers it again",
                extra={
                    "message_id": record.message_id,
                    "receive_count": receive_count(record.raw_event),
                    "error_code": code,
                    "error_message": message[:MAX_REASON_CHARS],
                },
            )
            metrics.add_metric(name="OrgWorkItemsRetried", unit=MetricUnit.Count, value=1)
            return super().failure_handler(record, exception)

    return WorkProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def work(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    job: str,
    org: OrgSettings,
    sweep: Callable[[WorkItem, str | None], AccountPart],
    dynamodb: DynamoDBClient,
    notify: Notifier,
    sqs: SQSClient,
    now: Callable[[], datetime],
    organizations: Any = None,
) -> dict[str, Any]:
    """Sweep each item's account and record its part; a failed item alone is retried (partial batch).

    Each account's owner is its ACCOUNT_OWNERS entry, else (with MEMBER_ACCOUNTS=organization and an
    `organizations` client) its owner tag, read here so each worker reads only its own account's.

    An item that would fail the same way every time (not JSON, another job's) goes to the work DLQ at once,
    with its reason; so does any item on its last receive. Any other failure is retried by SQS."""
    parts = RunParts(dynamodb, org.runs_table)
    read_tag = (
        functools.partial(owner_from_tag, organizations)
        if org.members.organization and organizations is not None
        else None
    )

    def dead_letter_now(record: SQSRecord, exc: Exception, reason: str) -> str:
        if not org.dead_letter_queue_url:
            raise exc  # nowhere to put it with a reason: SQS's redrive policy moves it, without one
        code = coded_failure(exc)[0]
        message_id = dead_letter(
            sqs,
            org.dead_letter_queue_url,
            record.body,
            code=code,
            reason=reason,
            source_message_id=record.message_id,
        )
        logger.error(
            "work item dead-lettered",
            extra={
                "message_id": record.message_id,
                "error_code": code,
                "error_message": reason[:MAX_REASON_CHARS],
                "dead_letter_message_id": message_id,
            },
        )
        metrics.add_metric(name="OrgWorkItemsDeadLettered", unit=MetricUnit.Count, value=1)
        return "dead_lettered"

    def handle(record: SQSRecord) -> str:
        try:
            return sweep_item(record)
        except PermanentError as exc:
            return dead_letter_now(record, exc, exc.message)
        # On the last receive, whatever failed: the redrive policy would move the item with no reason, so it
        # goes to the DLQ now with its last error. Earlier receives re-raise, and SQS delivers it again.
        except Exception as exc:
            receives = receive_count(record.raw_event)
            if receives < org.max_receive_count:
                raise
            message = coded_failure(exc)[1]
            return dead_letter_now(
                record, exc, f"{message} (receive {receives} of {org.max_receive_count}: not retried again)"
            )

    def sweep_item(record: SQSRecord) -> str:
        item = parse_work_item(record.body)
        if item["job"] != job:
            raise PermanentError(BAD_WORK_ITEM, f"{job} cannot do {item['job']!r}")
        part, message_id = process_work_item(
            item,
            lambda account_id: sweep(item, resolve_owner(account_id, org.owners, read_tag)),
            parts,
            notify=notify,
            sqs=sqs,
            now=now(),
        )
        logger.info(
            "account swept",
            extra={
                "run_id": item["run_id"],
                "job": job,
                "account_id": part["account_id"],
                "status": part["status"],
                "error": part["error"],
                "findings": part["findings"],
                "email_message_id": message_id,
            },
        )
        return part["status"]

    from aws_lambda_powertools.utilities.batch import process_partial_response

    return dict(process_partial_response(event, handle, _processor(), context))


def work_in_lambda(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    job: str,
    org: OrgSettings,
    notify: Notifier,
    sweep: Callable[[WorkItem, str | None], AccountPart],
) -> dict[str, Any]:
    """`work` as both functions' handlers call it: the container's cached clients (Organizations, for the
    owner tags, the same one the planner lists accounts with) and the wall clock."""
    return work(
        event,
        context,
        job=job,
        org=org,
        sweep=sweep,
        dynamodb=client("dynamodb"),
        notify=notify,
        sqs=client("sqs"),  # the run's email, and the items dead-lettered with their reason
        now=lambda: datetime.now(UTC),
        organizations=client("organizations") if org.members.organization else None,
    )
