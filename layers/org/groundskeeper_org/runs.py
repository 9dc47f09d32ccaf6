"""One run over many accounts: the work items a scheduled run queues (one per account), each account's part
of the report, kept in DynamoDB under the run id, and the one email sent when the last part is in.

Counting is exactly-once per account: a part and the run's `done` counter are written in one transaction
whose put is conditional on the part being new, so a redelivered work item never counts twice. Of the
workers that see `done == expected` after their write, the first to claim the run's email sends it; a
redelivery of that same worker's item may send again, with the same idempotency key, which the email
sender's idempotency store drops.

A part states what was done even when the run then failed: its counts of actions come from the action
journal of that run and account (the scope `journal_scope` names), so a redelivery that finds nothing left to
do still reports the rewrites or releases an earlier delivery made.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from groundskeeper.action_journal import ActionCounts, count_actions, scope_key
from groundskeeper.errors import PermanentError, TransientError, error_code
from groundskeeper.notify import Notifier

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from groundskeeper.action_journal import ActionJournal

JOBS = ("eip-janitor", "cors-sweep")
TEMPLATE = "org-sweep-report"
KEY_PREFIX = "org-run#"
KEEP_FOR = timedelta(days=14)
SQS_BATCH = 10  # SendMessageBatch's limit
DYNAMODB_BATCH_GET = 100  # BatchGetItem's limit
# A part above this is stored without its detail: DynamoDB refuses items over 400 KB.
MAX_PART_CHARS = 300_000
_SUMMARY_LINES = 200  # accounts listed in the email; every part stays in the table and the logs
BAD_WORK_ITEM = "BadWorkItem"
# A run id is an event id or a request id; the limit keeps `org-run#<run id>#<account>` far below DynamoDB's
# 2,048-byte key, so an oversized one is refused here rather than by DynamoDB on every receive.
MAX_RUN_ID_CHARS = 512
_ACCOUNT_ID = re.compile(r"\d{12}")
# A well-formed item that no plan made: its run has no header (expired, or never planned), is another job's,
# or does not list its account. It would fail the same way every time, so it is never swept.
UNPLANNED_WORK_ITEM = "UnplannedWorkItem"


class WorkItem(TypedDict):
    """One SQS message of the work queue: sweep this account for this run."""

    run_id: str
    job: str
    account_id: str


class AccountPart(TypedDict):
    """One account's part of a run's report: the same shape for every job and every outcome."""

    account_id: str
    owner: str | None
    status: str  # ok | error (the account could not be swept at all: its role, or its listing, failed)
    error: str | None  # AWS's code when status is error
    summary: str  # one line for the email
    findings: int  # what wants a human: releases, would-releases, non-compliant buckets, errors
    detail: dict[str, Any]  # the job's own report for this account (the janitor's or the auditor's)
    # What the action journal holds for this run and account: kind -> {"done", "failed", "intended"}.
    actions: NotRequired[dict[str, dict[str, int]]]


class OrgReportData(TypedDict):
    """The `org-sweep-report` template's data: flat strings only (the sender's contract)."""

    job: str
    run_id: str
    accounts: str
    failed_accounts: str
    findings: str
    summary: str
    # The subject's counts in words, singular or plural as the numbers need ("across 1 account: 1 finding,
    # all swept"). The template falls back to the bare numbers when a message from before it lacks this.
    headline: str


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 account`, `2 accounts`: a count with its noun in the number it needs."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def headline(accounts: int, findings: int, failed: int) -> str:
    swept = "all swept" if failed == 0 else f"{counted(failed, 'account')} not swept"
    return f"across {counted(accounts, 'account')}: {counted(findings, 'finding')}, {swept}"


def work_items(run_id: str, job: str, account_ids: Iterable[str]) -> list[WorkItem]:
    return [{"run_id": run_id, "job": job, "account_id": a} for a in account_ids]


def parse_work_item(body: str) -> WorkItem:
    """A work queue message body; anything else is a PermanentError (it would fail the same way again)."""
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise PermanentError(BAD_WORK_ITEM, f"not JSON: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in WorkItem.__annotations__):
        raise PermanentError(BAD_WORK_ITEM, "needs string run_id, job and account_id")
    if raw["job"] not in JOBS:
        raise PermanentError(BAD_WORK_ITEM, f"unknown job {raw['job']!r}")
    if not _ACCOUNT_ID.fullmatch(raw["account_id"]):
        raise PermanentError(BAD_WORK_ITEM, f"account_id is not 12 digits: {raw['account_id'][:40]!r}")
    if not 0 < len(raw["run_id"]) <= MAX_RUN_ID_CHARS or not raw["run_id"].isprintable():
        raise PermanentError(
            BAD_WORK_ITEM, f"run_id is empty, over {MAX_RUN_ID_CHARS} characters or not printable"
        )
    return {"run_id": raw["run_id"], "job": raw["job"], "account_id": raw["account_id"]}


def enqueue(sqs: SQSClient, queue_url: str, items: Sequence[WorkItem]) -> int:
    """Put the work items on the queue, ten per call; a refused entry fails the run so it is retried whole."""
    for start in range(0, len(items), SQS_BATCH):
        batch = items[start : start + SQS_BATCH]
        answer = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps(item, sort_keys=True)}
                for n, item in enumerate(batch)
            ],
        )
        failed = answer.get("Failed", [])
        if failed:
            raise TransientError(
                str(failed[0].get("Code", "SendFailed")), f"{len(failed)} work items refused"
            )
    return len(items)


def ok_part(
    account_id: str, owner: str | None, summary: str, findings: int, detail: Mapping[str, Any]
) -> AccountPart:
    """An account that was swept: the job's one-line summary, its count of findings and its own report."""
    return {
        "account_id": account_id,
        "owner": owner,
        "status": "ok",
        "error": None,
        "summary": summary,
        "findings": findings,
        "detail": dict(detail),
    }


def error_part(account_id: str, owner: str | None, code: str, message: str) -> AccountPart:
    return {
        "account_id": account_id,
        "owner": owner,
        "status": "error",
        "error": code,
        "summary": f"not swept: {code}: {message}"[:300],
        "findings": 1,
        "detail": {},
    }


def journal_scope(item: WorkItem) -> str:
    """The scope of one account's actions in one run, in the action journal: `org-<job>#<run id>#<account>`.
    A worker journals its actions under it; the account's part counts what it holds. Each worker's role may
    reach only its own job's prefix."""
    return scope_key(f"org-{item['job']}", item["run_id"], item["account_id"])


def journaled_part(part: AccountPart, counts: Sequence[ActionCounts]) -> AccountPart:
    """The part as the journal tells it: its actions counted, however the sweep that built it went (a
    redelivery finds nothing left to do; a sweep stopped by a failure still made what it made)."""
    if not counts:
        return part
    actions = {c.kind: {"done": c.done, "failed": c.failed, "intended": c.intended} for c in counts}
    stated = ", ".join(
        f"{c.kind} {c.done} done"
        + (f", {c.failed} failed" if c.failed else "")
        + (f", {c.intended} unconfirmed" if c.intended else "")
        for c in counts
    )
    return {
        **part,
        "summary": f"{part['summary']}; journal: {stated}"[:600],
        "findings": max(part["findings"], sum(c.total for c in counts)),
        "actions": actions,
    }


class RunParts:
    """A run's header (expected parts, parts done) and its parts: items of one DynamoDB table (key `id`)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def start(self, run_id: str, job: str, account_ids: Sequence[str], now: datetime) -> bool:
        """Write the run's header once; False when a redelivered schedule event finds it already there."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": self._header(run_id)},
                    "job": {"S": job},
                    "expected": {"N": str(len(account_ids))},
                    "done": {"N": "0"},
                    "accounts": {"L": [{"S": a} for a in account_ids]},
                    "expiration": {"N": self._expiry(now)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def check_planned(self, item: WorkItem) -> None:
        """Raise PermanentError(UNPLANNED_WORK_ITEM) unless the item's run was planned, for its job, with its
        account: a work item is a message body like any other, and only the planner's are swept."""
        header = self._dynamodb.get_item(
            TableName=self._table, Key={"id": {"S": self._header(item["run_id"])}}, ConsistentRead=True
        ).get("Item")
        if header is None:
            raise PermanentError(UNPLANNED_WORK_ITEM, f"run {item['run_id']!r} has no record (expired?)")
        if header.get("job", {}).get("S") != item["job"]:
            raise PermanentError(UNPLANNED_WORK_ITEM, f"run {item['run_id']!r} is not a {item['job']} run")
        if item["account_id"] not in {a.get("S") for a in header.get("accounts", {}).get("L", [])}:
            raise PermanentError(
                UNPLANNED_WORK_ITEM, f"run {item['run_id']!r} does not list account {item['account_id']!r}"
            )

    def record(self, run_id: str, part: AccountPart, now: datetime) -> bool:
        """Store the account's part and count it once, even if redelivered; True when the run is complete."""
        body = json.dumps(part, sort_keys=True, default=str)
        if len(body) > MAX_PART_CHARS:
            # The detail is the job's own report (dates and all); every other field is JSON already.
            body = json.dumps({**part, "detail": {"truncated": True}}, sort_keys=True)
        try:
            self._dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "id": {"S": self._part(run_id, part["account_id"])},
                                "part": {"S": body},
                                "expiration": {"N": self._expiry(now)},
                            },
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"id": {"S": self._header(run_id)}},
                            "UpdateExpression": "ADD done :one",
                            "ConditionExpression": "attribute_exists(id)",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except self._dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] != ["ConditionalCheckFailed"]:
                # No header (a work item outliving its run's record), or a conflict: let SQS retry it.
                raise TransientError(error_code(exc) or "TransactionCanceled", f"reasons {reasons}") from exc
            # The part was counted by an earlier delivery: whether the run is complete is read below.
        header = self._dynamodb.get_item(
            TableName=self._table, Key={"id": {"S": self._header(run_id)}}, ConsistentRead=True
        ).get("Item", {})
        return "done" in header and int(header["done"]["N"]) >= int(header["expected"]["N"])

    def claim_email(self, run_id: str, account_id: str) -> bool:
        """Whether this account's worker sends the run's email: the first to ask once the run is complete,
        or the same account again (its redelivery after a crash between this claim and the send)."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"id": {"S": self._header(run_id)}},
                UpdateExpression="SET mailed_by = :me",
                ConditionExpression=(
                    "done >= expected AND (attribute_not_exists(mailed_by) OR mailed_by = :me)"
                ),
                ExpressionAttributeValues={":me": {"S": account_id}},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def parts(self, run_id: str) -> list[AccountPart]:
        """Every stored part of the run, in the header's account order."""
        header = self._dynamodb.get_item(
            TableName=self._table, Key={"id": {"S": self._header(run_id)}}, ConsistentRead=True
        ).get("Item", {})
        accounts = [str(a["S"]) for a in header.get("accounts", {}).get("L", [])]
        found: dict[str, AccountPart] = {}
        for start in range(0, len(accounts), DYNAMODB_BATCH_GET):
            keys: list[Any] = [
                {"id": {"S": self._part(run_id, a)}} for a in accounts[start : start + DYNAMODB_BATCH_GET]
            ]
            while keys:
                answer = self._dynamodb.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
                for item in answer.get("Responses", {}).get(self._table) or []:
                    part: AccountPart = json.loads(str(item["part"]["S"]))
                    found[part["account_id"]] = part
                unprocessed = answer.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
        return [found[a] for a in accounts if a in found]

    @staticmethod
    def _header(run_id: str) -> str:
        return f"{KEY_PREFIX}{run_id}"

    @staticmethod
    def _part(run_id: str, account_id: str) -> str:
        return f"{KEY_PREFIX}{run_id}#{account_id}"

    @staticmethod
    def _expiry(now: datetime) -> str:
        return str(int((now + KEEP_FOR).timestamp()))


def email_data(run_id: str, job: str, parts: Sequence[AccountPart]) -> OrgReportData:
    """Failed accounts first, then those with findings, then the rest; each line names its owner."""
    ordered = sorted(parts, key=lambda p: (p["status"] != "error", p["findings"] == 0, p["account_id"]))
    lines = [
        f"{p['account_id']}{f' ({p["owner"]})' if p['owner'] else ''}: {p['summary']}"
        for p in ordered[:_SUMMARY_LINES]
    ]
    if len(ordered) > _SUMMARY_LINES:
        more = counted(len(ordered) - _SUMMARY_LINES, "more account")
        lines.append(f"... and {more} (the run's report has them all)")
    failed = sum(p["status"] == "error" for p in parts)
    findings = sum(p["findings"] for p in parts)
    return {
        "job": job,
        "run_id": run_id,
        "accounts": str(len(parts)),
        "failed_accounts": str(failed),
        "findings": str(findings),
        "summary": "\n".join(lines),
        "headline": headline(len(parts), findings, failed),
    }


def notification_key(run_id: str, job: str) -> str:
    """One email per run and job, whoever sends it; a long or odd run id is hashed to fit the sender."""
    key = f"org-run:{job}:{run_id}"
    return key if len(key) <= 200 else f"org-run:{job}:{hashlib.sha256(run_id.encode()).hexdigest()}"


def plan_run(
    run_id: str,
    job: str,
    account_ids: Sequence[str],
    parts: RunParts,
    *,
    sqs: SQSClient,
    queue_url: str,
    now: datetime,
) -> int:
    """The scheduled run's whole job: record how many parts to expect, then queue one item per account.

    A redelivered schedule event queues the items again: harmless, as each account's part counts once, and
    its janitor claims its releases under the same per-account key."""
    parts.start(run_id, job, account_ids, now)
    return enqueue(sqs, queue_url, work_items(run_id, job, account_ids))


def process_work_item(
    item: WorkItem,
    sweep: Callable[[str], AccountPart],
    parts: RunParts,
    *,
    notify: Notifier,
    sqs: SQSClient | None,
    now: datetime,
    journal: ActionJournal | None = None,
) -> tuple[AccountPart, str | None]:
    """Sweep one account, record its part, and send the run's one email if this was the last part.

    An item that its run's header does not list is refused before any sweep (PermanentError). With a
    journal, the part counts the actions journaled for this run and account (one Query). Returns the part
    and the queued email's message id (None when this part did not complete the run, or when the run found
    nothing worth mailing)."""
    parts.check_planned(item)
    part = sweep(item["account_id"])
    if journal is not None:
        part = journaled_part(part, count_actions(journal.records(journal_scope(item))))
    if not parts.record(item["run_id"], part, now) or not parts.claim_email(
        item["run_id"], part["account_id"]
    ):
        return part, None
    everything = parts.parts(item["run_id"])
    if sqs is None or not notify.enabled or not any(p["findings"] for p in everything):
        return part, None
    data = email_data(item["run_id"], item["job"], everything)
    key = notification_key(item["run_id"], item["job"])
    return part, notify.send(sqs, TEMPLATE, data, idempotency_key=key)
