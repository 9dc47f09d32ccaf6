"""Every rewrite is reported, whatever fails after it: the action journal through the real handlers, with
faults injected by botocore `before-call` hooks (the call never reaches moto) or made real inside one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cors_auditor import warm_state
from cors_auditor.handlers import sweep, uploads
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.action_journal import ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import (
    GOOD,
    JOURNAL_TABLE,
    WILDCARD_WRITE,
    InvokeHandler,
    create_journal_table,
    make_bucket,
    refuse,
    s3_event,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

SWEEP_EVENT = load_event("schedule-cors-sweep.json")


@pytest.fixture
def email_queue(s3: S3Client) -> tuple[SQSClient, str]:
    sqs = client("sqs")
    return sqs, sqs.create_queue(QueueName="email-requests")["QueueUrl"]


@pytest.fixture
def fix_with_journal(
    s3: S3Client, use_settings: Callable[..., Any], email_queue: tuple[SQSClient, str]
) -> tuple[SQSClient, str]:
    """REMEDIATION=fix, the journal table, and the email queue, as the deployed auditor has them."""
    create_journal_table()
    use_settings(
        remediation="fix",
        journal_table=JOURNAL_TABLE,
        notify=Notifier(email_queue[1], ("ops@example.com",)),
        audit_cache_seconds=0,
    )
    return email_queue


def queued(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def bucket_in(params: dict[str, Any], bucket: str) -> bool:
    return f"/{bucket}" in str(params.get("url_path", "")) or f"//{bucket}." in str(params.get("url", ""))


def cors_of(bucket: str) -> dict[str, Any] | None:
    try:
        rules = boto3.client("s3", region_name="us-east-1").get_bucket_cors(Bucket=bucket)["CORSRules"]
    except ClientError:
        return None
    return {"CORSRules": rules}


def new_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a retry on another execution environment sees: no cached verdict, no key already sent."""
    monkeypatch.setattr(warm_state, "VERDICTS", VerdictCache())
    monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())


def test_rewrites_then_the_email_queue_fails_once_the_retry_reports_every_rewrite(
    s3: S3Client,
    invoke_handler: InvokeHandler,
    fix_with_journal: tuple[SQSClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqs, queue_url = fix_with_journal
    buckets = ["b-open-1", "b-open-2", "b-open-3"]
    for name in buckets:
        make_bucket(s3, name, WILDCARD_WRITE)
    refuse(sqs, "SendMessage", "ServiceUnavailable", status=503, times=1)

    with pytest.raises(ClientError):
        invoke_handler(sweep, SWEEP_EVENT)
    assert all(cors_of(name) is None for name in buckets)  # rewritten: every rule was a wildcard
    assert queued(sqs, queue_url) == []

    new_container(monkeypatch)
    result = invoke_handler(sweep, SWEEP_EVENT)  # Lambda's retry: the same event, its id the same

    reports = {r["bucket"]: r for r in result["audited"]}
    for name in buckets:
        assert reports[name]["status"] == "non_compliant"
        assert reports[name]["remediated"] is True
        assert reports[name]["remediation_note"] == "rewritten earlier in this run"
        assert reports[name]["previous_configuration"] == WILDCARD_WRITE
    emails = queued(sqs, queue_url)
    assert sorted(e["data"]["bucket"] for e in emails) == buckets
    assert {e["data"]["remediation"] for e in emails} == {"rewritten earlier in this run"}

    # Another retry sends the same requests under the same keys: the sender keeps each to one email.
    new_container(monkeypatch)
    invoke_handler(sweep, SWEEP_EVENT)
    again = queued(sqs, queue_url)
    assert sorted(e["idempotency_key"] for e in again) == sorted(e["idempotency_key"] for e in emails)


def test_the_retry_uses_the_key_the_first_attempt_would_have_used(
    s3: S3Client,
    invoke_handler: InvokeHandler,
    fix_with_journal: tuple[SQSClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One email, whichever attempt's request reaches the sender: the keys are the same."""
    sqs, queue_url = fix_with_journal
    make_bucket(s3, "b-key", WILDCARD_WRITE)
    event = s3_event("b-key", ["k"])
    refuse(sqs, "SendMessage", "ServiceUnavailable", status=503, times=1)
    with pytest.raises(ClientError):
        invoke_handler(uploads, event)
    new_container(monkeypatch)
    invoke_handler(uploads, event)
    (retried,) = queued(sqs, queue_url)

    make_bucket(s3, "b-key-twin", WILDCARD_WRITE)
    twin_event = s3_event("b-key-twin", ["k"])
    invoke_handler(uploads, twin_event)  # no fault: the first attempt's own request
    (first,) = queued(sqs, queue_url)
    assert retried["data"]["remediated"] == first["data"]["remediated"] == "true"
    assert retried["data"]["findings_summary"] == first["data"]["findings_summary"]
    # Same problem, same configuration: the keys differ only by the bucket they name.
    assert retried["idempotency_key"] != first["idempotency_key"]
    records = ActionJournal(client("dynamodb"), JOURNAL_TABLE)
    scopes = [
        s["scope"]["S"] for s in client("dynamodb").scan(TableName=JOURNAL_TABLE)["Items"] if "scope" in s
    ]
    assert len(set(scopes)) == 2  # one scope per event
    (record,) = records.records(scopes[0])
    assert record.status == "done"
    assert record.before == {"configuration": WILDCARD_WRITE}


def test_a_rewrite_refused_with_malformed_xml_still_sends_the_finding(
    s3: S3Client, invoke_handler: InvokeHandler, fix_with_journal: tuple[SQSClient, str]
) -> None:
    sqs, queue_url = fix_with_journal
    make_bucket(s3, "b-malformed", WILDCARD_WRITE)
    refuse(s3, "DeleteBucketCors", "MalformedXML")
    refuse(s3, "PutBucketCors", "MalformedXML")

    (report,) = invoke_handler(uploads, s3_event("b-malformed", ["k"]))["audited"]

    assert report["status"] == "non_compliant"
    assert report["remediated"] is False
    assert report["remediation_error"] == "MalformedXML"
    assert report["remediation_note"] == "fix failed: MalformedXML"
    (email,) = queued(sqs, queue_url)
    assert email["data"]["bucket"] == "b-malformed"
    assert email["data"]["remediation"] == "fix failed: MalformedXML"
    assert cors_of("b-malformed") == WILDCARD_WRITE


def test_a_bucket_deleted_mid_sweep_is_its_own_outcome_and_the_other_rewrites_are_reported(
    s3: S3Client, invoke_handler: InvokeHandler, fix_with_journal: tuple[SQSClient, str]
) -> None:
    sqs, queue_url = fix_with_journal
    names = ["b-kept-1", "b-doomed", "b-kept-2", "b-kept-3"]
    for name in names:
        make_bucket(s3, name, {"CORSRules": [*WILDCARD_WRITE["CORSRules"], *GOOD["CORSRules"]]})
    other = boto3.client("s3", region_name="us-east-1")

    def delete_first(params: dict[str, Any], **_: Any) -> None:
        # Someone deletes the bucket between the audit's read and its rewrite: moto then answers the
        # rewrite with a real NoSuchBucket.
        if bucket_in(params, "b-doomed"):
            other.delete_bucket_cors(Bucket="b-doomed")
            other.delete_bucket(Bucket="b-doomed")

    s3.meta.events.register("before-call.s3.PutBucketCors", delete_first)

    result = invoke_handler(sweep, SWEEP_EVENT)

    reports = {r["bucket"]: r for r in result["audited"]}
    assert reports["b-doomed"]["status"] == "missing"
    assert reports["b-doomed"]["remediation_error"] == "NoSuchBucket"
    assert [reports[n]["remediated"] for n in names if n != "b-doomed"] == [True, True, True]
    emails = queued(sqs, queue_url)
    assert sorted(e["data"]["bucket"] for e in emails) == ["b-kept-1", "b-kept-2", "b-kept-3"]
    assert {e["data"]["remediation"] for e in emails} == {"rewritten"}


def test_an_intent_whose_outcome_was_lost_is_confirmed_from_the_bucket(
    s3: S3Client,
    invoke_handler: InvokeHandler,
    fix_with_journal: tuple[SQSClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The invocation stops after PutBucketCors, before the outcome is written: the retry finds the planned
    rules on the bucket, marks the record done, and reports the rewrite."""
    sqs, queue_url = fix_with_journal
    make_bucket(s3, "b-lost", WILDCARD_WRITE)
    event = s3_event("b-lost", ["k"])
    refuse(client("dynamodb"), "UpdateItem", "ServiceUnavailable", status=503, times=1)
    with pytest.raises(ClientError):
        invoke_handler(uploads, event)
    assert cors_of("b-lost") is None

    new_container(monkeypatch)
    (report,) = invoke_handler(uploads, event)["audited"]

    assert report["remediated"] is True
    assert report["remediation_note"] == "rewritten earlier in this run"
    (email,) = queued(sqs, queue_url)
    assert email["data"]["remediated"] == "true"
    table = ActionJournal(client("dynamodb"), JOURNAL_TABLE)
    scope = client("dynamodb").scan(TableName=JOURNAL_TABLE)["Items"][0]["scope"]["S"]
    assert [r.status for r in table.records(scope)] == ["done"]
