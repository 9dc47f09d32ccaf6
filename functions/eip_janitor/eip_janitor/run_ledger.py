"""A run's release budget kept in DynamoDB, keyed by the run id, so a redelivered event cannot spend it twice.

Lambda may deliver one asynchronous event more than once, even when no run failed, and an operator may
re-drive a failed run from the failure queue: each would start with a fresh MAX_RELEASES_PER_RUN in memory.
Before it releases anything, a run claims its releases here. Claims only ever add up, and never past the cap,
so every run of one event id together releases at most the cap. A claim is spent whether or not the release
then succeeds: a run that fails part-way leaves its retry less, never more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "eip-janitor-run#"
# Longer than Lambda keeps an async event (6 hours) and than anyone re-drives a failed run.
KEEP_FOR = timedelta(days=14)
# Two deliveries of one event racing (reserved concurrency 1 makes this rare): re-read and try again.
CLAIM_ATTEMPTS = 5


class LedgerContended(RuntimeError):
    """Every claim attempt lost a race: the run releases nothing rather than guess."""


class RunLedger:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def claimed(self, run_id: str) -> int:
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self._key(run_id), ConsistentRead=True, ProjectionExpression="claimed"
        ).get("Item")
        return int(item["claimed"]["N"]) if item and "claimed" in item else 0

    def claim(self, run_id: str, wanted: int, cap: int, now: datetime) -> int:
        """How many releases this run may attempt: up to `wanted`, and never past `cap` for the run id."""
        if wanted <= 0:
            return 0
        conditional_failed = self._dynamodb.exceptions.ConditionalCheckFailedException
        for _ in range(CLAIM_ATTEMPTS):
            before = self.claimed(run_id)
            granted = min(wanted, cap - before)
            if granted <= 0:
                return 0
            try:
                self._dynamodb.update_item(
                    TableName=self._table,
                    Key=self._key(run_id),
                    UpdateExpression="SET claimed = :after, expiration = :expiration",
                    ConditionExpression="attribute_not_exists(claimed) OR claimed = :before",
                    ExpressionAttributeValues={
                        ":before": {"N": str(before)},
                        ":after": {"N": str(before + granted)},
                        ":expiration": {"N": str(int((now + KEEP_FOR).timestamp()))},
                    },
                )
            except conditional_failed:
                continue
            return granted
        raise LedgerContended(f"no claim for run {run_id} after {CLAIM_ATTEMPTS} attempts")

    @staticmethod
    def _key(run_id: str) -> dict[str, dict[str, str]]:
        return {"id": {"S": f"{KEY_PREFIX}{run_id}"}}
