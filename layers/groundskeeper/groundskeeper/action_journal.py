"""The journal of actions: each side effect on someone's account is written down before it is made, with
what a restore needs, and its outcome after; reports are built from what was written.

One DynamoDB table (the stack's ActionJournalTable): partition key `scope`, the job and the run or event
that acts (stable across retries and redeliveries), sort key `action`, the action's kind and resource. A
retry of the same run reads its scope back and reports what an earlier attempt did, even when it finds
nothing left to do. Each function's role may touch only its own scope prefix (`dynamodb:LeadingKeys`).
Decision 012 (docs/decisions/012-action-journal.md) says why a table of its own, and what it costs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from groundskeeper.settings import Setting

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

ACTION_JOURNAL_TABLE = Setting(
    "ACTION_JOURNAL_TABLE",
    "",
    "where each action (a CORS rewrite, an address release) is written before it is made, and its outcome "
    "after (the stack's ActionJournalTable); empty = no journal",
)
SPECS = (ACTION_JOURNAL_TABLE,)

type Status = Literal["intended", "done", "failed"]
INTENDED: Status = "intended"
DONE: Status = "done"
FAILED: Status = "failed"
# Kinds of action, each the first part of its sort key.
CORS_REWRITE = "cors-rewrite"
ADDRESS_RELEASE = "address-release"
# Long enough for a run's retries and redeliveries, and for an operator to restore from the record.
KEEP_FOR = timedelta(days=14)
# The table's keys, as template.yaml's ActionJournalTable declares them: for whoever makes the table outside
# the stack (the local loop, the demo's world, tests and benches), so the schema is written once in code.
KEY_SCHEMA: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "scope", "KeyType": "HASH"},
        {"AttributeName": "action", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "scope", "AttributeType": "S"},
        {"AttributeName": "action", "AttributeType": "S"},
    ],
}
# DynamoDB's partition key may be 2,048 bytes; a longer scope is hashed, keeping its readable job prefix.
_MAX_SCOPE_CHARS = 1024
_MAX_RESOURCE_CHARS = 512


@dataclass(frozen=True)
class ActionRecord:
    """One action of one scope, as the journal holds it."""

    scope: str
    action: str  # "<kind>#<resource>[#<variant>]": unique within the scope
    kind: str
    resource: str
    status: Status
    before: dict[str, Any] = field(default_factory=dict)  # what a restore needs
    detail: dict[str, Any] = field(default_factory=dict)  # what the report needs
    error: str | None = None  # AWS's code, when failed
    intended_at: str = ""
    finished_at: str | None = None


def scope_key(job: str, *run: str) -> str:
    """`<job>#<run...>`: the job first, so a role's leading-keys condition can name its own prefix."""
    key = "#".join((job, *run))
    if len(key) <= _MAX_SCOPE_CHARS:
        return key
    return f"{job}#sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def event_digest(value: Any) -> str:
    """A stable id for an event that carries none: the same records give the same id on every retry."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def action_key(kind: str, resource: str, variant: str = "") -> str:
    key = f"{kind}#{resource[:_MAX_RESOURCE_CHARS]}"
    return f"{key}#{variant}" if variant else key


def _now_text(clock: Callable[[], datetime]) -> str:
    return clock().isoformat(timespec="seconds")


class ActionJournal:
    """The journal table: intend (a conditional put), done, failed, and every record of a scope."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        keep_for: timedelta = KEEP_FOR,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._clock = clock
        self._keep_for = keep_for

    def scoped(self, scope: str) -> ScopedJournal:
        return ScopedJournal(self, scope)

    def intend(
        self,
        scope: str,
        kind: str,
        resource: str,
        *,
        before: Mapping[str, Any],
        detail: Mapping[str, Any] | None = None,
        variant: str = "",
    ) -> tuple[ActionRecord, bool]:
        """Write the intent once: (the new record, True), or (the record an earlier attempt wrote, False),
        which is returned as it is, never overwritten. One PutItem either way."""
        now = self._clock()
        record = ActionRecord(
            scope=scope,
            action=action_key(kind, resource, variant),
            kind=kind,
            resource=resource,
            status=INTENDED,
            before=dict(before),
            detail=dict(detail or {}),
            intended_at=now.isoformat(timespec="seconds"),
        )
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=self._item(record, now),
                ConditionExpression="attribute_not_exists(#action)",
                ExpressionAttributeNames={"#action": "action"},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException as exc:
            old: Any = exc.response.get("Item")
            if old:
                return _record(old), False
            # An answer without the old item (older endpoints): read it, consistently.
            found = self._dynamodb.get_item(
                TableName=self._table,
                Key={"scope": {"S": scope}, "action": {"S": record.action}},
                ConsistentRead=True,
            ).get("Item")
            if found is None:  # expired between the two calls: ours to write again
                return self.intend(scope, kind, resource, before=before, detail=detail, variant=variant)
            return _record(found), False
        return record, True

    def done(self, record: ActionRecord) -> ActionRecord:
        """The action went through: one UpdateItem."""
        return self._finish(record, DONE, None)

    def failed(self, record: ActionRecord, code: str) -> ActionRecord:
        """AWS refused the action with `code`: one UpdateItem."""
        return self._finish(record, FAILED, code)

    def records(self, scope: str) -> list[ActionRecord]:
        """Every record of the scope, in action order: a Query (ConsistentRead), page by page."""
        found: list[ActionRecord] = []
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="#scope = :scope",
            ExpressionAttributeNames={"#scope": "scope"},
            ExpressionAttributeValues={":scope": {"S": scope}},
            ConsistentRead=True,
        )
        for page in pages:
            found.extend(_record(item) for item in page.get("Items", []))
        return found

    def _finish(self, record: ActionRecord, status: Status, code: str | None) -> ActionRecord:
        finished_at = _now_text(self._clock)
        values: dict[str, AttributeValueTypeDef] = {
            ":status": {"S": status},
            ":finished": {"S": finished_at},
        }
        expression = "SET #status = :status, finished_at = :finished"
        if code is not None:
            expression += ", #error = :error"
            values[":error"] = {"S": code}
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"scope": {"S": record.scope}, "action": {"S": record.action}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status", **({"#error": "error"} if code else {})},
            ExpressionAttributeValues=values,
        )
        return ActionRecord(
            scope=record.scope,
            action=record.action,
            kind=record.kind,
            resource=record.resource,
            status=status,
            before=record.before,
            detail=record.detail,
            error=code,
            intended_at=record.intended_at,
            finished_at=finished_at,
        )

    def _item(self, record: ActionRecord, now: datetime) -> dict[str, AttributeValueTypeDef]:
        return {
            "scope": {"S": record.scope},
            "action": {"S": record.action},
            "kind": {"S": record.kind},
            "resource": {"S": record.resource},
            "status": {"S": record.status},
            # JSON text: a configuration keeps its exact shape (DynamoDB's own types would turn ints into
            # Decimals and refuse empty sets).
            "before": {"S": json.dumps(record.before, sort_keys=True, default=str)},
            "detail": {"S": json.dumps(record.detail, sort_keys=True, default=str)},
            "intended_at": {"S": record.intended_at},
            "expiration": {"N": str(int((now + self._keep_for).timestamp()))},
        }


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if isinstance(value, Mapping) and "S" in value else None


def _record(item: Mapping[str, Any]) -> ActionRecord:
    status = _text(item, "status") or INTENDED
    return ActionRecord(
        scope=_text(item, "scope") or "",
        action=_text(item, "action") or "",
        kind=_text(item, "kind") or "",
        resource=_text(item, "resource") or "",
        status=status if status in (INTENDED, DONE, FAILED) else INTENDED,
        before=json.loads(_text(item, "before") or "{}"),
        detail=json.loads(_text(item, "detail") or "{}"),
        error=_text(item, "error"),
        intended_at=_text(item, "intended_at") or "",
        finished_at=_text(item, "finished_at"),
    )


@dataclass(frozen=True)
class ScopedJournal:
    """The journal of one run or event: what a job's code passes around."""

    journal: ActionJournal
    scope: str

    def intend(
        self,
        kind: str,
        resource: str,
        *,
        before: Mapping[str, Any],
        detail: Mapping[str, Any] | None = None,
        variant: str = "",
    ) -> tuple[ActionRecord, bool]:
        return self.journal.intend(self.scope, kind, resource, before=before, detail=detail, variant=variant)

    def done(self, record: ActionRecord) -> ActionRecord:
        return self.journal.done(record)

    def failed(self, record: ActionRecord, code: str) -> ActionRecord:
        return self.journal.failed(record, code)

    def records(self) -> list[ActionRecord]:
        return self.journal.records(self.scope)


@dataclass(frozen=True)
class ActionCounts:
    """How many actions of one kind a scope holds, by status."""

    kind: str
    done: int = 0
    failed: int = 0
    intended: int = 0  # written but never finished: the attempt stopped between the intent and the outcome

    @property
    def total(self) -> int:
        return self.done + self.failed + self.intended


def count_actions(records: list[ActionRecord]) -> list[ActionCounts]:
    """Per kind, in first-seen order: what a report states as done even when its run then failed."""
    tallies: dict[str, dict[str, int]] = {}
    for record in records:
        tally = tallies.setdefault(record.kind, {DONE: 0, FAILED: 0, INTENDED: 0})
        tally[record.status] += 1
    return [ActionCounts(kind, t[DONE], t[FAILED], t[INTENDED]) for kind, t in tallies.items()]
