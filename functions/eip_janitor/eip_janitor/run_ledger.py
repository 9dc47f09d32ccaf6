"""The janitor's records in DynamoDB (the stack's idempotency table, under prefixes of their own): each run's
release budget, the lease that lets one run at a time act on an account, and when a dry run first saw each
address idle.

Release budget. Lambda may deliver one asynchronous event more than once, even when no run failed, and an
operator may re-drive a failed run from the failure queue: each would start with a fresh
MAX_RELEASES_PER_RUN in memory. Before it releases anything, a run claims its releases here. Claims only
ever add up, and never past the cap, so every run of one event id together releases at most the cap. A claim
is spent whether or not the release then succeeds: a run that fails part-way leaves its retry less, never
more.

Lease. Two runs of one account at once (a second scheduled event while the first still runs, a manual
invoke, the hub's worker and the janitor itself on the hub's own account) would each spend their own budget
and tag the same addresses. Without reserved concurrency, which a new account cannot spare, a run first takes
the account's lease with a conditional write; a run that finds it live does nothing and reports so. The
lease outlives the function's timeout, so it expires on its own when a run dies holding it, and a run gives
it back when it ends.

Dry-run memory (docs/decisions/011-dry-run-remembers-idle-addresses.md). A dry run may not tag, so it keeps
here, per account, region and allocation id, when it first saw an untagged address idle. Every run reads it
for the untagged addresses it finds: an idle address's clock starts from the remembered time, a real run
writes that time into the idle tag, and an address seen in use is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

KEY_PREFIX = "eip-janitor-run#"
LEASE_PREFIX = "eip-janitor-lease#"
IDLE_PREFIX = "eip-janitor-idle#"
# Longer than Lambda keeps an async event (6 hours) and than anyone re-drives a failed run.
KEEP_FOR = timedelta(days=14)
# Longer than either janitor function's timeout (300 s; tests/unit/test_template_janitor.py checks it), so a
# live run never loses its lease, and short enough that a crashed run blocks at most one more schedule tick.
LEASE_FOR = timedelta(minutes=15)
# A remembered idle address is kept this long after a run last wrote it; a run rewrites it when less than
# half is left, so it lives as long as runs keep seeing the address idle, and goes when they stop.
REMEMBER_FOR = timedelta(days=60)
# Two deliveries of one event racing: re-read and try again.
CLAIM_ATTEMPTS = 5
# DynamoDB's limits per BatchGetItem and per BatchWriteItem call.
BATCH_GET = 100
BATCH_WRITE = 25
UNPROCESSED_ATTEMPTS = 5


class LedgerContended(RuntimeError):
    """Every claim attempt lost a race: the run releases nothing rather than guess."""


class LedgerUnavailable(RuntimeError):
    """DynamoDB left part of a batch unprocessed after every attempt: the run goes on without the memory."""


@dataclass(frozen=True)
class Remembered:
    """When a run first saw an address idle, and when the ledger forgets it unless it is written again."""

    first_seen: datetime
    expires: datetime

    def needs_refresh(self, now: datetime) -> bool:
        return self.expires - now < REMEMBER_FOR / 2


class LeaseEntry(TypedDict):
    """The report's `lease` section: whether this run acted on the account, or another run held it."""

    status: Literal["held", "busy", "off"]  # off: no ledger table, so no lease
    holder: NotRequired[str]  # the run id holding the lease (this run's own when held)
    until: NotRequired[str]


def lease_off() -> LeaseEntry:
    return {"status": "off"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


class RunLedger:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    # ---------------------------------------------------------------- release budget
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
                        ":expiration": {"N": _epoch(now + KEEP_FOR)},
                    },
                )
            except conditional_failed:
                continue
            return granted
        raise LedgerContended(f"no claim for run {run_id} after {CLAIM_ATTEMPTS} attempts")

    # ---------------------------------------------------------------- lease
    def take_lease(self, account: str, holder: str, now: datetime) -> LeaseEntry:
        """Held (by `holder`, until now + LEASE_FOR) when no lease was live; else who holds it, until when.

        One conditional UpdateItem; only when it fails, one more read says who holds the lease."""
        until = now + LEASE_FOR
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"id": {"S": f"{LEASE_PREFIX}{account}"}},
                UpdateExpression="SET holder = :holder, lease_until = :until, expiration = :expiration",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":holder": {"S": holder},
                    ":until": {"N": _epoch(until)},
                    ":now": {"N": _epoch(now)},
                    ":expiration": {"N": _epoch(until + KEEP_FOR)},
                },
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            item = self._dynamodb.get_item(
                TableName=self._table, Key={"id": {"S": f"{LEASE_PREFIX}{account}"}}, ConsistentRead=True
            ).get("Item", {})
            busy: LeaseEntry = {"status": "busy", "holder": item.get("holder", {}).get("S", "")}
            if "lease_until" in item:
                busy["until"] = _iso(datetime.fromtimestamp(int(item["lease_until"]["N"]), UTC))
            return busy
        return {"status": "held", "holder": holder, "until": _iso(until)}

    def give_back(self, account: str, lease: LeaseEntry) -> None:
        """End this run's lease; a lease taken since by another run (ours expired) is left alone."""
        if lease["status"] != "held":
            return
        until = int(datetime.strptime(lease["until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"id": {"S": f"{LEASE_PREFIX}{account}"}},
                UpdateExpression="REMOVE lease_until",
                ConditionExpression="holder = :holder AND lease_until = :until",
                ExpressionAttributeValues={":holder": {"S": lease["holder"]}, ":until": {"N": str(until)}},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return

    # ---------------------------------------------------------------- dry-run memory
    def remembered(self, account: str, region: str, allocation_ids: Iterable[str]) -> dict[str, Remembered]:
        """allocation id -> when a run first saw it idle, for those the ledger remembers."""
        ids = list(dict.fromkeys(allocation_ids))
        found: dict[str, Remembered] = {}
        for start in range(0, len(ids), BATCH_GET):
            keys = [self._idle_key(account, region, a) for a in ids[start : start + BATCH_GET]]
            request = {self._table: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(UNPROCESSED_ATTEMPTS):
                response = self._dynamodb.batch_get_item(RequestItems=request)  # type: ignore[arg-type]
                for item in response.get("Responses", {}).get(self._table, []):
                    allocation_id = item["id"]["S"].rsplit("#", 1)[1]
                    found[allocation_id] = Remembered(
                        datetime.fromtimestamp(int(item["first_seen"]["N"]), UTC),
                        datetime.fromtimestamp(int(item["expiration"]["N"]), UTC),
                    )
                unprocessed = response.get("UnprocessedKeys") or {}
                if not unprocessed:
                    break
                request = unprocessed  # type: ignore[assignment]
            else:
                raise LedgerUnavailable(
                    f"BatchGetItem left keys unprocessed after {UNPROCESSED_ATTEMPTS} attempts"
                )
        return found

    def remember(
        self,
        account: str,
        region: str,
        first_seen: Mapping[str, datetime],
        forget: Iterable[str],
        now: datetime,
    ) -> None:
        """Write (or keep alive) when each address was first seen idle, and forget the given addresses."""
        writes: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": self._idle_item(account, region, a, since, now)}}
            for a, since in first_seen.items()
        ]
        writes += [
            {"DeleteRequest": {"Key": self._idle_key(account, region, a)}} for a in dict.fromkeys(forget)
        ]
        for start in range(0, len(writes), BATCH_WRITE):
            pending = {self._table: writes[start : start + BATCH_WRITE]}
            for _ in range(UNPROCESSED_ATTEMPTS):
                left = self._dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not left:
                    break
                pending = left  # type: ignore[assignment]
            else:
                raise LedgerUnavailable(
                    f"BatchWriteItem left items unprocessed after {UNPROCESSED_ATTEMPTS} attempts"
                )

    def _idle_item(
        self, account: str, region: str, allocation_id: str, first_seen: datetime, now: datetime
    ) -> dict[str, AttributeValueTypeDef]:
        return {
            **self._idle_key(account, region, allocation_id),
            "first_seen": {"N": _epoch(first_seen)},
            "expiration": {"N": _epoch(now + REMEMBER_FOR)},
        }

    @staticmethod
    def _idle_key(account: str, region: str, allocation_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"id": {"S": f"{IDLE_PREFIX}{account}#{region}#{allocation_id}"}}

    @staticmethod
    def _key(run_id: str) -> dict[str, dict[str, str]]:
        return {"id": {"S": f"{KEY_PREFIX}{run_id}"}}
