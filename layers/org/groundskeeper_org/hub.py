"""The hub's two halves: `plan` (the planner's: one work item per account) and `work` (a worker's: a batch
from its job's work queue sweeps each item's account). The janitor's and the auditor's workers share `work`;
each passes its own job name and its own one-account sweep."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.dead_letter import MAX_REASON_CHARS, receive_count
from groundskeeper.errors import PermanentError, TransientError, coded_failure
from groundskeeper.observability import MetricUnit, logger, metrics
from groundskeeper.sqs_batch import DeadLetterPolicy, run_batch, sqs_records
from groundskeeper_org.accounts import AccountSessions, list_member_accounts, owner_from_tag, resolve_owner
from groundskeeper_org.runs import (
    BAD_WORK_ITEM,
    AccountPart,
    RunParts,
    WorkItem,
    error_part,
    parse_work_item,
    plan_run,
    process_work_item,
)
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from groundskeeper.notify import Notifier
    from groundskeeper.sqs_batch import DeadLettered, Record


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
            partition, _ = own_account_of(context)
            # Every account, the hub's own included, through its member role: the workers' roles hold no
            # grant of their own in any account (docs/organization.md).
            self._sessions = AccountSessions(
                self._sts(), role_name=self._org.role_name, own_account=None, partition=partition
            )
        return self._sessions


def _log_retry(record: Record, exc: Exception) -> None:
    """A failed work item is an error here (Powertools' BatchProcessor logged it at debug level only)."""
    code, message = coded_failure(exc)
    logger.error(
        "work item failed: SQS delivers it again",
        extra={
            "message_id": record["messageId"],
            "receive_count": receive_count(record),
            "error_code": code,
            "error_message": message[:MAX_REASON_CHARS],
        },
    )
    metrics.add_metric(name="OrgWorkItemsRetried", unit=MetricUnit.Count, value=1)


def _log_dead_lettered(parked: DeadLettered) -> None:
    logger.error(
        "work item dead-lettered",
        extra={
            "message_id": parked.record["messageId"],
            "error_code": parked.code,
            "error_message": parked.reason[:MAX_REASON_CHARS],
            "dead_letter_message_id": parked.dead_letter_message_id,
        },
    )
    metrics.add_metric(name="OrgWorkItemsDeadLettered", unit=MetricUnit.Count, value=1)


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
    journal: ActionJournal | None = None,
) -> dict[str, Any]:
    """Sweep each item's account and record its part; a failed item alone is retried (partial batch).

    Each account's owner is its ACCOUNT_OWNERS entry, else (with MEMBER_ACCOUNTS=organization and an
    `organizations` client) its owner tag, read here so each worker reads only its own account's.

    An item that would fail the same way every time (not JSON, another job's) goes to the work DLQ at once,
    with its reason; so does any item on its last receive. Any other failure is retried by SQS. A transient
    failure to reach the account (a throttled AssumeRole) is retried too; on the item's last receive it
    becomes the account's error part, so the run still completes and says why."""
    parts = RunParts(dynamodb, org.runs_table)
    read_tag = (
        functools.partial(owner_from_tag, organizations)
        if org.members.organization and organizations is not None
        else None
    )

    def sweep_item(record: Record) -> str:
        item = parse_work_item(str(record["body"]))
        if item["job"] != job:
            raise PermanentError(BAD_WORK_ITEM, f"{job} cannot do {item['job']!r}")
        # An unknown receive count is the last receive, as the dead-letter policy counts it.
        receives = receive_count(record)
        last_receive = receives is None or receives >= org.max_receive_count

        def sweep_account(account_id: str) -> AccountPart:
            owner = resolve_owner(account_id, org.owners, read_tag)
            try:
                return sweep(item, owner)
            except TransientError as exc:
                if not last_receive:
                    raise
                return error_part(account_id, owner, exc.code, f"{exc.message} (on every receive)")

        part, message_id = process_work_item(
            item, sweep_account, parts, notify=notify, sqs=sqs, now=now(), journal=journal
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

    # Without a work DLQ there is nowhere to put an item with a reason: SQS's redrive policy moves it.
    policy = DeadLetterPolicy(sqs, org.dead_letter_queue_url or "", org.max_receive_count)
    return dict(
        run_batch(
            sqs_records(event),
            sweep_item,
            policy=policy,
            on_retry=_log_retry,
            on_dead_lettered=_log_dead_lettered,
        )
    )


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
        journal=ActionJournal(client("dynamodb"), org.journal_table) if org.journal_table else None,
    )
