"""The idempotency record of one email request in DynamoDB: claimed before the send, completed after it.

Every detail of the record lives here: its key, its attribute names, its status values, its hashes. It is
the format Powertools' idempotency utility wrote when the sender used it (docs/decisions/010), so a record
written by either version is read by the other; tests/integration/email_sender/test_idempotency_record.py
checks that against the installed Powertools.

The states of a key:
- no record, or one past its `expiration`: a delivery may claim it (a conditional PutItem);
- INPROGRESS: claimed by a live invocation until `in_progress_expiration`; after a send-started mark
  (`send_deadline`, `send_attempt`) until the record's own expiry, since an invocation killed during its
  send may have sent. Only a delivery that carries that mark's `send_attempt` as refused (SES refused the
  send, and the mark could not be cleared) may claim it again;
- COMPLETED: the stored result (`data`) answers every later delivery, a sent email or an unknown outcome.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from email_sender.errors import IDEMPOTENCY_UNAVAILABLE
from groundskeeper.errors import GroundskeeperError, TransientError, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

KEY = "id"
EXPIRY = "expiration"  # epoch seconds: after it the record counts as absent
IN_PROGRESS_EXPIRY = "in_progress_expiration"  # epoch milliseconds: the claiming invocation's deadline
STATUS = "status"
DATA = "data"  # the stored result, as sorted JSON
VALIDATION = "validation"  # the request's fingerprint hash: the same key with another request is refused
SEND_DEADLINE = "send_deadline"  # epoch milliseconds: set when the send starts (the send-started mark)
SEND_ATTEMPT = "send_attempt"  # a random id per mark: names the attempt a refusal is about

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"

# The key is "<function name>.<scope>#<md5 of the JSON key>". The scope is the name of the function Powertools
# wrapped; the Lambda function's name comes from its environment, as Powertools read it.
KEY_SCOPE = "email_sender.sender.EmailSender._deliver"
# How often a claim is tried when the record changes under it (deleted or expired between two reads).
CLAIM_ATTEMPTS = 3
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"


def _md5_of_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def payload_hash(fingerprint: dict[str, Any]) -> str:
    """The hash stored in `validation`: what a reused key's request is compared by."""
    return _md5_of_json(fingerprint)


class KeyReused(GroundskeeperError):
    """The key's record was made for a different request."""


class RecordUnavailable(TransientError):
    """DynamoDB did not answer, or refused: the record's state is not known. Retried by SQS."""

    def __init__(self, action: str, cause: BaseException) -> None:
        code = error_code(cause) or type(cause).__name__
        super().__init__(IDEMPOTENCY_UNAVAILABLE, f"could not {action}: {code}: {error_message(cause)}")


@dataclass(frozen=True)
class Found:
    """A key's live record, found by a claim: completed with its result, or in progress."""

    result: dict[str, str] | None  # None while in progress
    send_deadline_ms: int | None


class IdempotencyRecords:
    """The records of one table. Stateless apart from its client, so the record threads share one."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        ttl_seconds: int,
        function_name: str | None = None,
        *,
        mark_dynamodb: DynamoDBClient | None = None,
    ) -> None:
        self.dynamodb = dynamodb
        # The client that writes the send mark: one attempt with short timeouts, so that the mark's worst
        # case is known before it starts (the sender starts it only with time for it and the send).
        self.mark_dynamodb = mark_dynamodb or dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds
        name = (
            function_name if function_name is not None else os.getenv("AWS_LAMBDA_FUNCTION_NAME", "test-func")
        )
        self._prefix = f"{name}.{KEY_SCOPE}#"

    def key(self, idempotency_key: str) -> str:
        return self._prefix + _md5_of_json(idempotency_key)

    def claim(
        self,
        key: str,
        payload: str,
        *,
        now: float,
        remaining_ms: int | None,
        refused_attempt: str | None = None,
    ) -> Found | None:
        """Lock `key` for this delivery (None), or return its live record; KeyReused for another request.

        The lock holds until this invocation's deadline (`remaining_ms`), or, with no deadline known, until
        the record expires. `refused_attempt`: a send attempt known to have been refused; a record still
        marked with it is claimed like a free one.
        """
        item: dict[str, AttributeValueTypeDef] = {
            KEY: {"S": key},
            EXPIRY: {"N": str(int(now + self.ttl_seconds))},
            STATUS: {"S": IN_PROGRESS},
            VALIDATION: {"S": payload},
        }
        if remaining_ms is not None:
            item[IN_PROGRESS_EXPIRY] = {"N": str(int(now * 1000 + remaining_ms))}
        condition = (
            "attribute_not_exists(#id) OR #expiry < :now OR "
            "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND "
            "#in_progress_expiry < :now_in_millis)"
        )
        names = {"#id": KEY, "#expiry": EXPIRY, "#in_progress_expiry": IN_PROGRESS_EXPIRY, "#status": STATUS}
        values: dict[str, AttributeValueTypeDef] = {
            ":now": {"N": str(int(now))},
            ":now_in_millis": {"N": str(int(now * 1000))},
            ":inprogress": {"S": IN_PROGRESS},
        }
        if refused_attempt:
            condition += " OR (#status = :inprogress AND #send_attempt = :refused_attempt)"
            names["#send_attempt"] = SEND_ATTEMPT
            values[":refused_attempt"] = {"S": refused_attempt}
        for _ in range(CLAIM_ATTEMPTS):
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != CONDITIONAL_CHECK_FAILED:
                    raise RecordUnavailable("claim the idempotency record", exc) from exc
                returned = exc.response.get("Item")  # the old item (ALL_OLD), returned with the error
                old = dict(returned) if isinstance(returned, dict) else self._read(key)
            except BotoCoreError as exc:
                raise RecordUnavailable("claim the idempotency record", exc) from exc
            else:
                return None
            found = _live(old, now) if old else None
            if old is None or found is None:
                continue  # deleted, or expired, since the write failed: claim it again
            if old.get(VALIDATION, {}).get("S") != payload:
                raise KeyReused(key)
            return found
        raise RecordUnavailable(
            "claim the idempotency record", RuntimeError("it changed under every attempt")
        )

    def mark_send_started(self, key: str, *, now: float, deadline_ms: int, attempt: str) -> None:
        """Keep the lock until the record expires, and note until when this invocation may be sending.

        Written with the mark's own client (one attempt), so it takes at most that client's timeouts.
        """
        self._write(
            "mark the send as started",
            "SET #in_progress_expiry = :hold, #send_deadline = :deadline, #send_attempt = :attempt",
            key,
            names={
                "#in_progress_expiry": IN_PROGRESS_EXPIRY,
                "#send_deadline": SEND_DEADLINE,
                "#send_attempt": SEND_ATTEMPT,
                "#status": STATUS,
            },
            values={
                ":hold": {"N": str(int((now + self.ttl_seconds) * 1000))},
                ":deadline": {"N": str(deadline_ms)},
                ":attempt": {"S": attempt},
                ":in_progress": {"S": IN_PROGRESS},
            },
            condition="#status = :in_progress",
            dynamodb=self.mark_dynamodb,
        )

    def complete(self, key: str, payload: str, result: dict[str, str], *, now: float) -> None:
        """Store the result: every later delivery of the key is answered from it, until the record expires."""
        self._write(
            "complete the idempotency record",
            "SET #response_data = :response_data, #expiry = :expiry, #status = :status, "
            "#validation_key = :validation_key",
            key,
            names={
                "#response_data": DATA,
                "#expiry": EXPIRY,
                "#status": STATUS,
                "#validation_key": VALIDATION,
            },
            values={
                ":response_data": {"S": json.dumps(result, sort_keys=True)},
                ":expiry": {"N": str(int(now + self.ttl_seconds))},
                ":status": {"S": COMPLETED},
                ":validation_key": {"S": payload},
            },
        )

    def release(self, key: str) -> None:
        """Delete the lock of a delivery that sent nothing, so that a retry may send."""
        try:
            self.dynamodb.delete_item(TableName=self.table, Key={KEY: {"S": key}})
        except (ClientError, BotoCoreError) as exc:
            raise RecordUnavailable("release the idempotency record", exc) from exc

    def _read(self, key: str) -> dict[str, Any] | None:
        """The record as it is now: a failed claim reads it when DynamoDB did not return the old item."""
        try:
            response = self.dynamodb.get_item(
                TableName=self.table, Key={KEY: {"S": key}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise RecordUnavailable("read the idempotency record", exc) from exc
        return dict(response["Item"]) if "Item" in response else None

    def _write(
        self,
        action: str,
        expression: str,
        key: str,
        *,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
        condition: str | None = None,
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        conditional = {"ConditionExpression": condition} if condition else {}
        try:
            (dynamodb or self.dynamodb).update_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **conditional,  # type: ignore[arg-type]
            )
        except (ClientError, BotoCoreError) as exc:
            raise RecordUnavailable(action, exc) from exc


def _live(item: dict[str, Any], now: float) -> Found | None:
    """The record as a claim found it; None if it no longer holds (expired, or a dead invocation's lock)."""
    if int(item[EXPIRY]["N"]) < now:
        return None
    deadline = item.get(SEND_DEADLINE, {}).get("N")
    send_deadline_ms = None if deadline is None else int(deadline)
    if item[STATUS]["S"] == COMPLETED:
        return Found(
            result=json.loads(item.get(DATA, {}).get("S") or "{}"), send_deadline_ms=send_deadline_ms
        )
    in_progress_until = item.get(IN_PROGRESS_EXPIRY, {}).get("N")
    if in_progress_until is not None and int(in_progress_until) < now * 1000:
        return None
    return Found(result=None, send_deadline_ms=send_deadline_ms)
