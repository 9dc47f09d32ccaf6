"""Hub mode: an account's actions are reported whatever fails after them (the part's write, the member
credentials), and a transient failure to reach an account is retried; through the workers' handlers, with
faults injected by botocore `before-call` hooks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from cors_auditor.handlers import org_work as auditor
from cors_auditor.settings import Settings as AuditSettings
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from groundskeeper_org import hub as org_hub
from groundskeeper_org.accounts import AccountSessions
from groundskeeper_org.runs import RunParts
from tests.integration.cors_auditor.conftest import JOURNAL_TABLE, create_journal_table, refuse
from tests.integration.org.conftest import ALLOWED, HUB, ROLE, TABLE, seed_member
from tests.integration.org.test_hub_handlers import emails, org, use, work_record

A = "111111111111"
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"]}]}
JOB = "cors-sweep"


@pytest.fixture
def queues(runs_table: Any) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    create_journal_table()
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("work", "email", "work-dlq")}


def fixing_auditor(queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
    """The auditor's worker with REMEDIATION=fix and the action journal, as deployed in hub mode."""
    hub = org(queues, A)
    hub = type(hub)(**{**hub.__dict__, "journal_table": JOURNAL_TABLE})
    audit = AuditSettings(
        allowed_origins=(ALLOWED,),
        remediation="fix",
        journal_table=JOURNAL_TABLE,
        notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
        **settings,
    )
    use(auditor, audit, hub, monkeypatch)


def deliver(queues: dict[str, str], run_id: str, receive: int, context: Any) -> dict[str, Any]:
    record = work_record(queues, run_id, JOB, A)
    record["attributes"] = {**record["attributes"], "ApproximateReceiveCount": str(receive)}
    answer: dict[str, Any] = auditor.lambda_handler({"Records": [record]}, context)
    return answer


def start(run_id: str) -> RunParts:
    parts = RunParts(client("dynamodb"), TABLE)
    parts.start(run_id, JOB, [A], datetime.now(UTC))
    return parts


def member_credentials() -> dict[str, str]:
    member = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{A}:role/{ROLE}", RoleSessionName="test")
    credentials = member["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def cors_of(bucket: str) -> list[dict[str, Any]] | None:
    s3 = boto3.client("s3", region_name="us-east-1", **member_credentials())
    return list(s3.get_bucket_cors(Bucket=bucket)["CORSRules"])


def test_the_part_write_fails_after_the_rewrite_and_the_redelivery_reports_it(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    seed_member(A, (), BAD_CORS)
    fixing_auditor(queues, monkeypatch)
    parts = start("run-6")
    refuse(client("dynamodb"), "TransactWriteItems", "ThrottlingException", times=1)

    first = deliver(queues, "run-6", 1, lambda_context)

    assert first["batchItemFailures"]  # the part was not stored: SQS delivers the item again
    assert cors_of(f"bad-{A}") == [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": [ALLOWED]}]
    assert parts.parts("run-6") == []

    assert deliver(queues, "run-6", 2, lambda_context) == {"batchItemFailures": []}

    (part,) = parts.parts("run-6")
    assert part["status"] == "ok"
    assert part["findings"] == 1
    assert "1 non-compliant (1 fixed)" in part["summary"]
    assert part["actions"] == {"cors-rewrite": {"done": 1, "failed": 0, "intended": 0}}
    (email,) = emails(queues["email"])
    assert email["data"]["findings"] == "1"
    assert "journal: cors-rewrite 1 done" in email["data"]["summary"]


def test_credentials_expire_mid_sweep_the_role_is_assumed_again_and_the_rewrite_is_reported(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    seed_member(A, (), BAD_CORS)
    member_clients = boto3.session.Session()
    s3 = member_clients.client("s3", region_name="us-east-1", **member_credentials())
    s3.create_bucket(Bucket=f"zz-last-{A}")  # listed after bad-<A>: swept after the rewrite
    fixing_auditor(queues, monkeypatch, sweep_concurrency=1)
    # After the rewrite of bad-<A>, the next read answers ExpiredToken, as S3 does once the assumed
    # credentials expire.
    rewrites: list[str] = []
    member_clients.events.register("after-call.s3.PutBucketCors", lambda **_: rewrites.append("put"))
    expired = refuse(member_clients, "GetBucketCors", "ExpiredToken", times=1, when=lambda _p: bool(rewrites))
    assumed: list[str] = []
    client("sts").meta.events.register("before-call.sts.AssumeRole", lambda **_: assumed.append("AssumeRole"))
    sessions = AccountSessions(client("sts"), role_name=ROLE, own_account=HUB, boto_session=member_clients)
    monkeypatch.setattr(auditor, "SESSIONS", type("Fixed", (), {"get": lambda _self, _context: sessions})())
    parts = start("run-7")

    assert deliver(queues, "run-7", 1, lambda_context) == {"batchItemFailures": []}

    assert expired["ExpiredToken"] == 1
    assert assumed == ["AssumeRole", "AssumeRole"]  # renewed once
    (part,) = parts.parts("run-7")
    assert part["status"] == "ok", part["summary"]
    assert rewrites == ["put"]
    assert part["summary"].startswith("3 buckets, 1 non-compliant (1 fixed)")
    rewritten = {r["bucket"]: r for r in part["detail"]["audited"]}[f"bad-{A}"]
    assert rewritten["remediation_note"] == "rewritten earlier in this run"
    (email,) = emails(queues["email"])
    assert f"bad-{A} (MEDIUM)" in email["data"]["summary"] or f"bad-{A} (HIGH)" in email["data"]["summary"]


def test_a_throttled_assume_role_is_retried_not_stored_as_not_swept(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    seed_member(A, (), BAD_CORS)
    use(auditor, AuditSettings(allowed_origins=(ALLOWED,)), org(queues, A), monkeypatch)
    parts = start("run-8")
    refuse(client("sts"), "AssumeRole", "Throttling", times=1)

    first = deliver(queues, "run-8", 1, lambda_context)

    assert first["batchItemFailures"]
    assert parts.parts("run-8") == []
    assert deliver(queues, "run-8", 2, lambda_context) == {"batchItemFailures": []}
    (part,) = parts.parts("run-8")
    assert part["status"] == "ok"
    assert part["findings"] == 1


def test_an_assume_role_throttled_on_every_receive_becomes_the_accounts_error_on_the_last(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    """The run still completes, and its email says why the account was not swept."""
    use(
        auditor,
        AuditSettings(notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",))),
        org(queues, A),
        monkeypatch,
    )
    parts = start("run-8b")
    refuse(client("sts"), "AssumeRole", "Throttling")
    max_receives = org_hub.OrgSettings().max_receive_count

    for receive in range(1, max_receives):
        assert deliver(queues, "run-8b", receive, lambda_context)["batchItemFailures"]
    assert deliver(queues, "run-8b", max_receives, lambda_context) == {"batchItemFailures": []}

    (part,) = parts.parts("run-8b")
    assert (part["status"], part["error"]) == ("error", "Throttling")
    (email,) = emails(queues["email"])
    assert "not swept: Throttling" in email["data"]["summary"]
