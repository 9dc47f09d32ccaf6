"""The org run's soak: many hub-mode runs under in-process moto, with the faults a fleet of Lambda workers
has. Each run plans one work item per account on a real (moto) SQS queue; workers take them four at a time,
as the mapping's MaximumConcurrency would, and an item that fails is delivered again, up to the work
queue's maxReceiveCount (3), as SQS would after its visibility timeout.

Faults, each drawn per item and injected on its first delivery only:
- the sweep raises (a bug, or the function timing out mid-account);
- the worker dies right after its part's transaction, before it asks for the email;
- the worker dies right after it queued the run's email, before SQS deleted its item;
- DynamoDB throttles the part's transaction (a `before-call` error response, so moto does not apply it);
- SQS delivers the item twice at once (at-least-once delivery);
- the account's role is denied (not a fault of the run: that account's error part).

After every run: the header counts each account once, every account's stored part is the one its sweep
gave, and exactly one email key went out when anything was worth mailing (none otherwise), with the
aggregate of every part. An email queued again after a crash carries the same idempotency key, which the
email sender drops; it is counted as a note, not a duplicate.
tried = work items planned, lost = parts or emails missing or items dead-lettered, duplicated = parts
counted twice or emails under two keys, wrong = a stored part or an email that disagrees with the sweeps,
crashed = an exception that was not injected.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from groundskeeper.errors import TransientError, error_code
from groundskeeper.notify import Notifier
from groundskeeper_org.runs import (
    AccountPart,
    RunParts,
    WorkItem,
    email_data,
    error_part,
    notification_key,
    ok_part,
    parse_work_item,
    plan_run,
    process_work_item,
)
from tests.integration.org.conftest import TABLE, moto_dynamodb_serialised
from tests.soak.report import Tally, publish, seed, size

FAULTS = ("sweep-raises", "dies-after-part", "dies-after-email", "throttled", "delivered-twice", "denied")
MAX_RECEIVES = 3  # the work queues' RedrivePolicy maxReceiveCount
WORKERS = 4
TRANSACT = "before-call.dynamodb.TransactWriteItems"


class InjectedCrash(Exception):
    """A fault the soak injected: the worker dies, and SQS delivers the item again."""


@dataclass
class Faults:
    """Which fault each account's item gets on its first delivery; the ones already used."""

    chosen: dict[str, str]
    used: set[tuple[str, str]] = field(default_factory=set)
    emails_resent_after_crash: int = 0  # the worker died after queueing it: its redelivery sends again
    senders: list[str] = field(default_factory=list)  # the account whose worker queued each email
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first(self, account_id: str, fault: str) -> bool:
        """True once: on the first delivery of an account's item that has this fault."""
        with self.lock:
            if self.chosen.get(account_id) != fault or (account_id, fault) in self.used:
                return False
            self.used.add((account_id, fault))
            return True


class FaultyParts(RunParts):
    """RunParts whose worker dies after the part's transaction, once, for the accounts drawn for it."""

    def __init__(self, dynamodb: Any, faults: Faults) -> None:
        super().__init__(dynamodb, TABLE)
        self._faults = faults

    def claim_email(self, run_id: str, account_id: str) -> bool:
        if self._faults.first(account_id, "dies-after-part"):
            raise InjectedCrash(f"{account_id} died after its part")
        return super().claim_email(run_id, account_id)


class FaultyNotifier(Notifier):
    """A Notifier whose worker dies right after the email was queued, once, for the accounts drawn."""

    def __init__(self, queue_url: str, faults: Faults, current: threading.local) -> None:
        super().__init__(queue_url=queue_url, recipients=("ops@example.com",))
        self._faults = faults
        self._current = current

    def send(self, sqs: Any, template: str, data: Any, *, idempotency_key: str) -> str:
        message_id = super().send(sqs, template, data, idempotency_key=idempotency_key)
        with self._faults.lock:
            self._faults.senders.append(self._current.account_id)
        if self._faults.first(self._current.account_id, "dies-after-email"):
            self._faults.emails_resent_after_crash += 1
            raise InjectedCrash(f"{self._current.account_id} died after queueing the email")
        return message_id


def expected_part(rng: random.Random, account_id: str, denied: bool) -> AccountPart:
    if denied:
        return error_part(account_id, None, "AccessDenied", "not authorized to perform: sts:AssumeRole")
    findings = rng.choice((0, 0, 1, 2, 5))
    return ok_part(account_id, None, f"{findings} findings", findings, {"findings": findings})


def throttle_hook(faults: Faults, current: threading.local) -> Callable[..., Any]:
    """TransactWriteItems throttled once for the accounts drawn; a before-call answer, so moto never applies
    it (a before-send error would not stop moto from carrying out the write)."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not faults.first(current.account_id, "throttled"):
            return None
        error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), {  # type: ignore[arg-type]
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    return hook


def one_run(rng: random.Random, n: int, world: dict[str, Any], tally: Tally) -> None:
    run_id, job = f"soak-{n}", rng.choice(("eip-janitor", "cors-sweep"))
    accounts = [f"{rng.randrange(10**11, 10**12)}" for _ in range(rng.randint(1, 8))]
    accounts = list(dict.fromkeys(accounts))
    chosen = {a: rng.choice((*FAULTS, "none", "none", "none")) for a in accounts}
    expected = {a: expected_part(rng, a, chosen[a] == "denied") for a in accounts}
    faults, current = Faults(chosen), world["current"]
    parts = FaultyParts(world["dynamodb"], faults)
    notify = FaultyNotifier(world["email"], faults, current)
    sqs, now = world["sqs"], datetime.now(UTC)
    tally.tried += len(accounts)
    for fault in chosen.values():
        tally.note(fault)

    def sweep(account_id: str) -> AccountPart:
        if faults.first(account_id, "sweep-raises"):
            raise InjectedCrash(f"{account_id}'s sweep raised")
        return expected[account_id]

    def deliver(item: WorkItem) -> bool:
        """One delivery, as a worker runs it: True when the item was deleted (it succeeded)."""
        current.account_id = item["account_id"]
        try:
            process_work_item(item, sweep, parts, notify=notify, sqs=sqs, now=now)
        except (InjectedCrash, TransientError):
            return False
        except ClientError as exc:
            if error_code(exc) != "ThrottlingException":  # the one AWS error injected: SQS redelivers
                tally.fail("crashed", f"{run_id} {item['account_id']}: {exc!r}")
            return False
        except Exception as exc:  # noqa: BLE001 - anything not injected is what the soak counts as a crash
            tally.fail("crashed", f"{run_id} {item['account_id']}: {exc!r}")
            return False
        return True

    plan_run(run_id, job, accounts, parts, sqs=sqs, queue_url=world["work"], now=now)
    items = [parse_work_item(body) for body in drain(sqs, world["work"])]
    pending = items + [i for i in items if chosen[i["account_id"]] == "delivered-twice"]
    receives: Counter[str] = Counter()
    throttle = throttle_hook(faults, current)
    world["dynamodb"].meta.events.register(TRANSACT, throttle)
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            while pending:
                for item in pending:
                    receives[item["account_id"]] += 1
                outcomes = list(pool.map(deliver, pending))
                failed = {i["account_id"]: i for i, ok in zip(pending, outcomes, strict=True) if not ok}
                pending = [i for a, i in failed.items() if receives[a] < MAX_RECEIVES]
                for account_id in failed.keys() - {i["account_id"] for i in pending}:
                    tally.fail("lost", f"{run_id} {account_id}: dead-lettered after {MAX_RECEIVES} receives")
    finally:
        world["dynamodb"].meta.events.unregister(TRANSACT, throttle)
    emails = drain(sqs, world["email"])
    check(run_id, job, expected, parts, faults=faults, dynamodb=world["dynamodb"], emails=emails, tally=tally)


def check(
    run_id: str,
    job: str,
    expected: dict[str, AccountPart],
    parts: RunParts,
    *,
    faults: Faults,
    dynamodb: Any,
    emails: list[str],
    tally: Tally,
) -> None:
    header = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": f"org-run#{run_id}"}})["Item"]
    done = int(header["done"]["N"])
    if done > len(expected):
        tally.fail("duplicated", f"{run_id}: {done} parts counted for {len(expected)} accounts")
    stored = {p["account_id"]: p for p in parts.parts(run_id)}
    for account_id, part in expected.items():
        if account_id not in stored:
            tally.fail("lost", f"{run_id} {account_id}: no part stored")
        elif stored[account_id] != part:
            tally.fail("wrong", f"{run_id} {account_id}: stored {stored[account_id]} for {part}")
    requests = [json.loads(body) for body in emails]
    keys = {r.get("idempotency_key") for r in requests}
    worth_mailing = any(p["findings"] for p in expected.values())
    if not worth_mailing:
        if requests:
            tally.fail("wrong", f"{run_id}: {len(requests)} emails for a run with nothing to report")
        return
    if not requests:
        tally.fail("lost", f"{run_id}: no email")
        return
    if keys != {notification_key(run_id, job)}:
        tally.fail("duplicated", f"{run_id}: emails under keys {sorted(map(str, keys))}")
    # Only the worker that claimed the email sends it; the same item again may send again, with the same key:
    # after dying between the send and SQS's delete, or when SQS delivered it twice at once.
    if len(set(faults.senders)) > 1:
        tally.fail("duplicated", f"{run_id}: the email was sent by {sorted(set(faults.senders))}")
    resent = len(requests) - 1
    explained = faults.emails_resent_after_crash + (faults.chosen[faults.senders[0]] == "delivered-twice")
    if resent > explained:
        tally.fail("duplicated", f"{run_id}: {len(requests)} emails, {resent - explained} unexplained")
    tally.note("email queued again by its own worker (same key)", resent)
    want = email_data(run_id, job, [expected[a] for a in expected])
    if any(r["data"] != want for r in requests):
        tally.fail("wrong", f"{run_id}: email data {requests[0]['data']} for {want}")


def drain(sqs: Any, queue_url: str) -> list[str]:
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.extend(m["Body"] for m in batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
        )
    return bodies


def test_org_runs_under_worker_faults(aws: None) -> None:
    rng = random.Random(seed())
    tally = Tally("org runs under worker faults")
    runs = size(ci=40, full=400)
    current = threading.local()
    started = time.perf_counter()
    with moto_dynamodb_serialised():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        world = {
            "dynamodb": dynamodb,
            "sqs": sqs,
            "work": sqs.create_queue(QueueName="org-work")["QueueUrl"],
            "email": sqs.create_queue(QueueName="email")["QueueUrl"],
            "current": current,
        }
        for n in range(runs):
            # A table per run: moto's TransactWriteItems copies the whole table, so one table for every run
            # would make the soak quadratic. Runs never share items anyway (the run id is in every key).
            dynamodb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            one_run(rng, n, world, tally)
            dynamodb.delete_table(TableName=TABLE)
    tally.seconds = time.perf_counter() - started
    tally.note("runs", runs)
    publish(tally)
    assert tally.clean, tally.summary()
