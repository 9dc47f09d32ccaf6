"""The janitor through `sam local invoke` against a moto server, with the sample scheduled event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from groundskeeper.action_journal import KEY_SCHEMA
from tests.local.conftest import LOCAL_LOOP, MotoServer

pytestmark = LOCAL_LOOP

IDLE = "groundskeeper:idle-since"
KEEP = "groundskeeper:keep"
EVENT = "schedule-eip-janitor.json"


def _allocate(ec2: Any, tags: dict[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Domain": "vpc"}
    if tags:
        spec = [{"Key": k, "Value": v} for k, v in tags.items()]
        kwargs["TagSpecifications"] = [{"ResourceType": "elastic-ip", "Tags": spec}]
    return dict(ec2.allocate_address(**kwargs))


def _run_ledger(moto_server: MotoServer, name: str) -> None:
    moto_server.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_scheduled_run_marks_releases_and_queues_the_report(
    moto_server: MotoServer, sam_invoke_full: Any
) -> None:
    ec2 = moto_server.client("ec2")
    sqs = moto_server.client("sqs")
    queue_url = sqs.create_queue(QueueName="groundskeeper-local-emails")["QueueUrl"]
    # The run ledger (each run's release budget) lives in the idempotency table, as deployed, and each
    # release is written down in the action journal before it is made.
    _run_ledger(moto_server, "groundskeeper-local-run-ledger")
    moto_server.client("dynamodb").create_table(
        TableName="groundskeeper-local-janitor-journal",
        **KEY_SCHEMA,
        BillingMode="PAY_PER_REQUEST",
    )
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = _allocate(ec2, {IDLE: ten_days_ago, "Name": "old-bastion"})
    fresh = _allocate(ec2, {})
    kept = _allocate(ec2, {KEEP: "dns", IDLE: ten_days_ago})

    invocation = sam_invoke_full(
        "EipJanitorFunction",
        EVENT,
        {
            "DRY_RUN": "false",
            "JANITOR_REGIONS": "us-east-1",
            "NOTIFY_QUEUE_URL": queue_url,
            "NOTIFY_EMAIL": "ops@example.com",
            "RUN_LEDGER_TABLE": "groundskeeper-local-run-ledger",
            "ACTION_JOURNAL_TABLE": "groundskeeper-local-janitor-journal",
        },
    )

    report = invocation.result
    region = report["regions"]["us-east-1"]
    assert report["dry_run"] is False
    assert region["released"] == [old["AllocationId"]]
    assert region["marked"] == [fresh["AllocationId"]]
    assert region["exempt"] == [kept["AllocationId"]]
    assert report["estimated_monthly_savings_usd"] == pytest.approx(3.6)

    remaining = {a["AllocationId"]: a for a in ec2.describe_addresses()["Addresses"]}
    assert set(remaining) == {fresh["AllocationId"], kept["AllocationId"]}
    assert IDLE in {t["Key"] for t in remaining[fresh["AllocationId"]]["Tags"]}

    # The recovery log names the released address's public IP.
    recovery = [line for line in invocation.logs.splitlines() if '"eip_released"' in line]
    assert len(recovery) == 1
    assert old["PublicIp"] in recovery[0]

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    request = json.loads(messages[0]["Body"])
    assert (request["template"], request["data"]["released_count"]) == ("eip-janitor-report", "1")


def test_default_dry_run_changes_nothing(moto_server: MotoServer, sam_invoke: Any) -> None:
    ec2 = moto_server.client("ec2")
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = _allocate(ec2, {IDLE: ten_days_ago})
    before = ec2.describe_addresses()["Addresses"]
    # Even a dry run takes the account's lease, and remembers idle addresses, in the run ledger.
    _run_ledger(moto_server, "groundskeeper-local-dry-run-ledger")

    report = sam_invoke(
        "EipJanitorFunction",
        EVENT,
        {"NOTIFY_EMAIL": "", "JANITOR_REGIONS": "", "RUN_LEDGER_TABLE": "groundskeeper-local-dry-run-ledger"},
    )

    assert report["dry_run"] is True
    assert report["regions"]["us-east-1"]["would_release"] == [old["AllocationId"]]
    assert report["permission_check"]["allowed"] is True
    assert ec2.describe_addresses()["Addresses"] == before
