"""The SAM loop: `sam local invoke CorsAuditorFunction -e events/...` on moto finds a seeded bad bucket."""

from __future__ import annotations

import json
from typing import Any

from groundskeeper.action_journal import KEY_SCHEMA
from tests.local.conftest import LOCAL_LOOP

pytestmark = LOCAL_LOOP

UPLOADS = "groundskeeper-local-uploads"  # the bucket named in events/s3-object-created.json
WILDCARD_WRITE = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]}
GOOD = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]}


def seed(moto_server: Any, bucket: str, cors: dict[str, Any] | None) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=bucket)
    if cors is not None:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors)


def test_upload_event_finds_the_seeded_bad_bucket(moto_server: Any, sam_invoke: Any) -> None:
    seed(moto_server, UPLOADS, WILDCARD_WRITE)
    result = sam_invoke("CorsAuditorFunction", "s3-object-created.json")
    (report,) = result["audited"]
    assert (report["bucket"], report["status"], report["severity"]) == (UPLOADS, "non_compliant", "HIGH")
    assert report["findings"][0]["rule_id"] == "wildcard-origin-write"
    assert report["trigger_key"] == "reports/q3 summary 2026.csv"
    assert report["remediated"] is False
    assert result["skipped"] == 0


def test_remediation_rewrites_the_bucket_in_moto(moto_server: Any, sam_invoke: Any) -> None:
    seed(moto_server, UPLOADS, WILDCARD_WRITE)
    # A rewrite is written down in the action journal before it is made, as deployed.
    moto_server.client("dynamodb").create_table(
        TableName="groundskeeper-local-action-journal",
        **KEY_SCHEMA,
        BillingMode="PAY_PER_REQUEST",
    )
    result = sam_invoke(
        "CorsAuditorFunction",
        "s3-object-created.json",
        env={
            "REMEDIATION": "fix",
            "ALLOWED_ORIGINS": "https://app.example.com",
            "ACTION_JOURNAL_TABLE": "groundskeeper-local-action-journal",
        },
    )
    (report,) = result["audited"]
    assert report["remediated"] is True
    assert report["previous_configuration"]["CORSRules"][0]["AllowedOrigins"] == ["*"]
    rules = moto_server.client("s3").get_bucket_cors(Bucket=UPLOADS)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://app.example.com"]


def test_sweep_audits_every_seeded_bucket(moto_server: Any, sam_invoke: Any) -> None:
    seed(moto_server, "gk-local-bad", WILDCARD_WRITE)
    seed(moto_server, "gk-local-good", GOOD)
    seed(moto_server, "gk-local-plain", None)
    result = sam_invoke("CorsSweepFunction", "schedule-cors-sweep.json")
    statuses = {r["bucket"]: r["status"] for r in result["audited"]}
    assert statuses == {
        "gk-local-bad": "non_compliant",
        "gk-local-good": "compliant",
        "gk-local-plain": "no_cors",
    }


def test_a_finding_is_queued_for_the_email_sender(moto_server: Any, sam_invoke: Any) -> None:
    seed(moto_server, "groundskeeper-local-website", WILDCARD_WRITE)
    sqs = moto_server.client("sqs")
    queue_url = sqs.create_queue(QueueName="groundskeeper-local-emails")["QueueUrl"]
    sam_invoke(
        "CorsChangeAuditFunction",
        "cloudtrail-put-bucket-cors.json",
        env={"NOTIFY_QUEUE_URL": queue_url, "NOTIFY_EMAIL": "ops@example.com"},
    )
    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert body["template"] == "cors-finding"
    assert body["data"]["bucket"] == "groundskeeper-local-website"
    assert body["idempotency_key"].startswith("cors-")


def test_a_watched_buckets_object_created_event_is_audited(moto_server: Any, sam_invoke: Any) -> None:
    seed(moto_server, "groundskeeper-local-website", WILDCARD_WRITE)
    result = sam_invoke("WatchedBucketsAuditFunction", "eventbridge-s3-object-created.json")
    (report,) = result["audited"]
    assert (report["bucket"], report["status"]) == ("groundskeeper-local-website", "non_compliant")
    assert report["trigger_key"] == "assets/app.js"
