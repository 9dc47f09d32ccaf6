"""The org sweep end to end under moto: one work item per account, each account swept with its own role
by the janitor's and the auditor's own code, one email per run, no account's failure touching another's."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from cors_auditor.org_worker import sweep_account_cors
from cors_auditor.settings import Settings as AuditSettings
from eip_janitor.org_worker import sweep_account_eips
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings as JanitorSettings
from groundskeeper.notify import Notifier
from groundskeeper_org.accounts import AccountSessions
from groundskeeper_org.runs import (
    AccountPart,
    RunParts,
    error_part,
    parse_work_item,
    plan_run,
    process_work_item,
)
from tests.integration.org.conftest import ALLOWED, TABLE, deny_assume_role, member_client, seed_member

A, B, C = "111111111111", "222222222222", "333333333333"
REGIONS = ("us-east-1", "eu-west-1")
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}


@pytest.fixture
def world(runs_table: Any, hub_sts: Any) -> dict[str, Any]:
    for account_id in (A, B, C):
        seed_member(account_id, REGIONS, BAD_CORS)
    sqs = boto3.client("sqs", region_name="us-east-1")
    return {
        "sqs": sqs,
        "work": sqs.create_queue(QueueName="org-work")["QueueUrl"],
        "email": sqs.create_queue(QueueName="email")["QueueUrl"],
        "parts": RunParts(runs_table, TABLE),
        "ledger": RunLedger(runs_table, TABLE),
    }


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def org_run(
    world: dict[str, Any], job: str, accounts: list[str], sweep: Callable[[str], AccountPart], run_id: str
) -> tuple[dict[str, AccountPart], list[dict[str, Any]]]:
    """The schedule's fan-out, then the queue's items consumed four at a time (the mapping's concurrency)."""
    sqs, now = world["sqs"], datetime.now(UTC)
    plan_run(run_id, job, accounts, world["parts"], sqs=sqs, queue_url=world["work"], now=now)
    items = [parse_work_item(json.dumps(body)) for body in drain(sqs, world["work"])]
    assert sorted(item["account_id"] for item in items) == sorted(accounts)
    notify = Notifier(queue_url=world["email"], recipients=("ops@example.com",))
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(
            pool.map(
                lambda item: process_work_item(item, sweep, world["parts"], notify=notify, sqs=sqs, now=now),
                items,
            )
        )
    return {part["account_id"]: part for part, _ in done}, drain(sqs, world["email"])


def janitor(world: dict[str, Any], sessions: AccountSessions, run_id: str, **overrides: Any) -> Any:
    settings = JanitorSettings(
        **{"dry_run": False, "regions": REGIONS, "max_releases_per_run": 3, **overrides}
    )
    now = datetime.now(UTC)
    return lambda account_id: sweep_account_eips(
        settings, sessions, account_id, run_id=run_id, own_region="us-east-1", now=now, ledger=world["ledger"]
    )


def test_one_email_per_run_with_every_accounts_part(world: dict[str, Any], sessions: AccountSessions) -> None:
    parts, emails = org_run(world, "eip-janitor", [A, B, C], janitor(world, sessions, "run-1"), "run-1")
    assert len(emails) == 1
    data = emails[0]["data"]
    assert (data["accounts"], data["failed_accounts"], data["job"]) == ("3", "0", "eip-janitor")
    assert all(account in data["summary"] for account in (A, B, C))
    assert emails[0]["idempotency_key"] == "org-run:eip-janitor:run-1"
    # The cap holds per account: 4 due addresses each, 3 released each, the 4th deferred.
    for account_id in (A, B, C):
        assert parts[account_id]["detail"]["released_count"] == 3
        assert parts[account_id]["detail"]["deferred_count"] == 1
        left = sum(
            len(member_client(account_id, "ec2", r).describe_addresses()["Addresses"]) for r in REGIONS
        )
        assert left == 8 - 3


def test_a_denied_role_is_one_accounts_error_and_changes_no_other(
    world: dict[str, Any], sessions: AccountSessions, hub_sts: Any
) -> None:
    def comparable(part: AccountPart) -> dict[str, Any]:
        detail = {k: v for k, v in part["detail"].items() if k not in ("run_id", "permission_check", "lease")}
        return {**part, "detail": detail}

    clean, _ = org_run(world, "eip-janitor", [A, C], janitor(world, sessions, "dry-1", dry_run=True), "dry-1")
    deny_assume_role(hub_sts, B)
    parts, emails = org_run(
        world, "eip-janitor", [A, B, C], janitor(world, sessions, "dry-2", dry_run=True), "dry-2"
    )
    assert (parts[B]["status"], parts[B]["error"]) == ("error", "AccessDenied")
    assert comparable(parts[A]) == comparable(clean[A])
    assert comparable(parts[C]) == comparable(clean[C])
    assert parts[A]["detail"]["would_release_count"] == 3
    assert len(emails) == 1
    assert emails[0]["data"]["failed_accounts"] == "1"
    assert emails[0]["data"]["summary"].startswith(f"{B}: not swept: AccessDenied")


def test_the_cors_sweep_fans_out_the_same_way(
    world: dict[str, Any], sessions: AccountSessions, hub_sts: Any
) -> None:
    deny_assume_role(hub_sts, C)
    settings = AuditSettings(allowed_origins=(ALLOWED,))
    parts, emails = org_run(
        world, "cors-sweep", [A, B, C], lambda a: sweep_account_cors(settings, sessions, a), "cors-1"
    )
    for account_id in (A, B):
        statuses = {e["bucket"]: e["status"] for e in parts[account_id]["detail"]["audited"]}
        # Each account sees its own buckets only.
        assert statuses == {f"good-{account_id}": "compliant", f"bad-{account_id}": "non_compliant"}
    assert parts[C]["error"] == "AccessDenied"
    assert len(emails) == 1
    assert f"bad-{A} (" in emails[0]["data"]["summary"]
    assert f"good-{A}" not in emails[0]["data"]["summary"]


def test_a_redelivered_item_counts_once(world: dict[str, Any], sessions: AccountSessions) -> None:
    sweep = janitor(world, sessions, "run-r", dry_run=True)
    now = datetime.now(UTC)
    plan_run(
        "run-r", "eip-janitor", [A, B], world["parts"], sqs=world["sqs"], queue_url=world["work"], now=now
    )
    drain(world["sqs"], world["work"])
    notify = Notifier(queue_url=world["email"], recipients=("ops@example.com",))
    first = {"run_id": "run-r", "job": "eip-janitor", "account_id": A}
    assert (
        process_work_item(first, sweep, world["parts"], notify=notify, sqs=world["sqs"], now=now)[1] is None
    )
    # Delivered again: stored and counted already, so the run is still waiting for B.
    assert (
        process_work_item(first, sweep, world["parts"], notify=notify, sqs=world["sqs"], now=now)[1] is None
    )
    last = {"run_id": "run-r", "job": "eip-janitor", "account_id": B}
    assert process_work_item(last, sweep, world["parts"], notify=notify, sqs=world["sqs"], now=now)[1]
    assert len(drain(world["sqs"], world["email"])) == 1


def test_only_one_finisher_claims_the_email_but_its_own_redelivery_may(world: dict[str, Any]) -> None:
    parts: RunParts = world["parts"]
    now = datetime.now(UTC)
    parts.start("run-m", "cors-sweep", [A, B], now)
    assert not parts.claim_email("run-m", A)  # not complete yet
    for account_id in (A, B):
        parts.record("run-m", error_part(account_id, None, "AccessDenied", "no"), now)
    assert parts.claim_email("run-m", B)
    assert not parts.claim_email("run-m", A)
    assert parts.claim_email("run-m", B)
