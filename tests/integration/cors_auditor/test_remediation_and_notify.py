"""Remediation (and restore back to the original), and the cors-finding email queued once per problem."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cors_auditor import restore, warm_state
from cors_auditor.handlers import cors_change, uploads
from cors_auditor.verdict_cache import SeenKeys
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from groundskeeper.observability import logger
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import (
    GOOD,
    WILDCARD_WRITE,
    Invoke,
    InvokeHandler,
    make_bucket,
    s3_event,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

ALLOW = ("https://app.example.com",)
MIXED = {
    "CORSRules": [
        {
            "ID": "site",
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedMethods": ["GET"],
            "MaxAgeSeconds": 600,
        },
        {"ID": "upload", "AllowedOrigins": ["*"], "AllowedMethods": ["PUT", "POST"], "AllowedHeaders": ["*"]},
        {
            "AllowedOrigins": ["null", "http://legacy.example.com"],
            "AllowedMethods": ["GET"],
            "ExposeHeaders": ["ETag"],
        },
    ]
}


def current_cors(_: S3Client, bucket: str) -> dict[str, Any] | None:
    """The bucket's CORS as a separate client sees it (the handler's client may carry a deny hook)."""
    try:
        return {
            "CORSRules": boto3.client("s3", region_name="us-east-1").get_bucket_cors(Bucket=bucket)[
                "CORSRules"
            ]
        }
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchCORSConfiguration"
        return None


def test_remediation_rewrites_offending_origins_then_restore_gives_the_original_back(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], tmp_path: Path
) -> None:
    make_bucket(s3, "b-fix", MIXED)
    original = current_cors(s3, "b-fix")
    use_settings(remediation="fix", allowed_origins=ALLOW)

    result = invoke(s3_event("b-fix", ["k"]))

    (report,) = result["audited"]
    assert report["status"] == "non_compliant"
    assert report["remediated"] is True
    assert report["previous_configuration"] == original
    assert report["remediation"]["rewritten_rules"] == [1]
    # The legacy rule had no good origin: it goes, rather than handing its access to the allowlist.
    assert report["remediation"]["dropped_rules"] == [2]
    after = current_cors(s3, "b-fix")
    assert after is not None
    site, upload = after["CORSRules"]
    assert site == original["CORSRules"][0]  # type: ignore[index]
    assert upload["AllowedOrigins"] == ["https://app.example.com"]  # the wildcard matched app
    assert upload["AllowedHeaders"] == ["*"]  # reported, never rewritten

    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(result))
    assert restore.main([str(saved)]) == 0
    assert current_cors(s3, "b-fix") == original


def test_without_an_allowlist_an_all_bad_configuration_is_deleted_and_restored_from_the_log_line(
    s3: S3Client,
    invoke: Invoke,
    use_settings: Callable[..., Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_bucket(s3, "b-delete", WILDCARD_WRITE)
    use_settings(remediation="fix")

    (report,) = invoke(s3_event("b-delete", ["k"]))["audited"]

    assert report["remediated"] is True
    assert report["remediation"]["action"] == "delete"
    assert current_cors(s3, "b-delete") is None
    (saved,) = [r for r in caplog.records if hasattr(r, "previous_configuration")]
    # The line exactly as CloudWatch Logs gets it, through the Powertools JSON formatter.
    log_file = tmp_path / "line.json"
    log_file.write_text(logger.registered_formatter.format(saved))
    assert json.loads(log_file.read_text())["bucket"] == "b-delete"
    restore.main([str(log_file)])
    assert current_cors(s3, "b-delete") == {"CORSRules": WILDCARD_WRITE["CORSRules"]}


def test_restore_of_a_bare_configuration_and_of_no_cors(s3: S3Client, tmp_path: Path) -> None:
    make_bucket(s3, "b-bare", GOOD)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(WILDCARD_WRITE))
    restore.main([str(config), "--bucket", "b-bare"])
    assert current_cors(s3, "b-bare") == WILDCARD_WRITE
    config.write_text(json.dumps({"CORSRules": []}))
    restore.main([str(config), "--bucket", "b-bare"])
    assert current_cors(s3, "b-bare") is None


def test_only_origin_problems_are_rewritten(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], api_calls: Counter[str]
) -> None:
    report_only = {
        "CORSRules": [
            {
                "AllowedOrigins": ["https://app.example.com"],
                "AllowedMethods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
                "MaxAgeSeconds": 999999,
            }
        ]
    }
    make_bucket(s3, "b-report-only", report_only)
    use_settings(remediation="fix")
    api_calls.clear()
    (report,) = invoke(s3_event("b-report-only", ["k"]))["audited"]
    assert report["status"] == "non_compliant"
    assert report["remediated"] is False
    assert api_calls == Counter({"GetBucketCors": 1, "GetBucketTagging": 1})


def test_a_failed_audit_is_never_remediated(
    s3: S3Client,
    invoke: Invoke,
    use_settings: Callable[..., Any],
    deny: Callable[[str, str], None],
    api_calls: Counter[str],
) -> None:
    make_bucket(s3, "b-denied", WILDCARD_WRITE)
    deny("GetBucketCors", "b-denied")
    use_settings(remediation="fix")
    api_calls.clear()
    result = invoke(
        {"Records": [*s3_event("b-denied", ["k"])["Records"], *s3_event("b-gone", ["k"])["Records"]]}
    )
    assert [(r["status"], r["remediated"]) for r in result["audited"]] == [
        ("access_denied", False),
        ("missing", False),
    ]
    assert api_calls == Counter({"GetBucketCors": 2})
    assert current_cors(s3, "b-denied") == WILDCARD_WRITE


def test_remediation_denied_is_reported_not_raised(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], deny: Callable[[str, str], None]
) -> None:
    make_bucket(s3, "b-readonly", WILDCARD_WRITE)
    deny("PutBucketCors", "b-readonly")
    deny("DeleteBucketCors", "b-readonly")
    use_settings(remediation="fix")
    (report,) = invoke(s3_event("b-readonly", ["k"]))["audited"]
    assert report["remediated"] is False
    assert report["remediation_error"] == "AccessDenied"
    assert report["previous_configuration"] == WILDCARD_WRITE


# ---------------------------------------------------------------- notifications


@pytest.fixture
def email_queue(s3: S3Client) -> tuple[SQSClient, str]:
    sqs = client("sqs")
    return sqs, sqs.create_queue(QueueName="email-requests")["QueueUrl"]


def queued(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_a_notification_is_queued_once_per_distinct_finding_set(
    s3: S3Client,
    invoke_handler: InvokeHandler,
    use_settings: Callable[..., Any],
    email_queue: tuple[SQSClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqs, queue_url = email_queue
    use_settings(notify=Notifier(queue_url, ("ops@example.com",)), audit_cache_seconds=0)
    make_bucket(s3, "groundskeeper-local-website", WILDCARD_WRITE)

    for _ in range(3):  # no cache: three fresh audits of the same problem
        invoke_handler(uploads, s3_event("groundskeeper-local-website", ["a"]))
    invoke_handler(cors_change, load_event("cloudtrail-put-bucket-cors.json"))
    (first,) = queued(sqs, queue_url)

    assert first["template"] == "cors-finding"
    assert first["to"] == ["ops@example.com"]
    assert "from" not in first
    data = first["data"]
    assert all(isinstance(value, str) for value in data.values())
    assert set(data) == {
        "bucket",
        "severity",
        "status",
        "finding_count",
        "findings_summary",
        "remediated",
        "remediation",
        "audited_at",
    }
    assert data["bucket"] == "groundskeeper-local-website"
    assert (data["severity"], data["status"], data["finding_count"], data["remediated"]) == (
        "HIGH",
        "non_compliant",
        "2",
        "false",
    )
    assert data["findings_summary"].splitlines()[0].startswith("HIGH rule #1 wildcard-origin-write: ")
    key = first["idempotency_key"]

    # A different problem on the same bucket is a new notification...
    s3.put_bucket_cors(
        Bucket="groundskeeper-local-website",
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
    )
    invoke_handler(cors_change, load_event("cloudtrail-put-bucket-cors.json"))
    (second,) = queued(sqs, queue_url)
    assert second["data"]["severity"] == "MEDIUM"
    assert second["idempotency_key"] != key

    # ...and another container re-reporting the first problem carries the same key, for the sender to drop.
    s3.put_bucket_cors(Bucket="groundskeeper-local-website", CORSConfiguration=WILDCARD_WRITE)  # type: ignore[arg-type]
    monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())
    invoke_handler(cors_change, load_event("cloudtrail-put-bucket-cors.json"))
    (again,) = queued(sqs, queue_url)
    assert again["idempotency_key"] == key


def test_compliant_and_low_buckets_send_nothing(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], email_queue: tuple[SQSClient, str]
) -> None:
    sqs, queue_url = email_queue
    use_settings(notify=Notifier(queue_url, ("ops@example.com",)))
    make_bucket(s3, "b-good", GOOD)
    make_bucket(s3, "b-none")
    make_bucket(
        s3, "b-low", {"CORSRules": [{"AllowedOrigins": ["http://localhost:3000"], "AllowedMethods": ["GET"]}]}
    )
    result = invoke(
        {"Records": [s3_event(b, ["k"])["Records"][0] for b in ("b-good", "b-none", "b-low", "b-gone")]}
    )
    assert [r["severity"] for r in result["audited"]] == ["NONE", "NONE", "LOW", "NONE"]
    assert queued(sqs, queue_url) == []


def test_low_findings_notify_when_the_threshold_is_low(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], email_queue: tuple[SQSClient, str]
) -> None:
    sqs, queue_url = email_queue
    use_settings(notify=Notifier(queue_url, ("ops@example.com",)), notify_min_severity="LOW")
    make_bucket(
        s3, "b-low", {"CORSRules": [{"AllowedOrigins": ["http://localhost:3000"], "AllowedMethods": ["GET"]}]}
    )
    invoke(s3_event("b-low", ["k"]))
    (message,) = queued(sqs, queue_url)
    assert message["data"]["severity"] == "LOW"


def test_remediated_flag_reaches_the_email(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], email_queue: tuple[SQSClient, str]
) -> None:
    sqs, queue_url = email_queue
    use_settings(
        notify=Notifier(queue_url, ("ops@example.com",)),
        remediation="fix",
        allowed_origins=ALLOW,
    )
    make_bucket(s3, "b-fixed", WILDCARD_WRITE)
    invoke(s3_event("b-fixed", ["k"]))
    (message,) = queued(sqs, queue_url)
    assert message["data"]["remediated"] == "true"
