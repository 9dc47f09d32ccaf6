"""The watched buckets' entry point under moto: S3's `Object Created` events from EventBridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cors_auditor.handlers import watched_buckets
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import (
    WILDCARD_WRITE,
    Invoke,
    InvokeHandler,
    by_bucket,
    make_bucket,
    s3_event,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_eventbridge_object_created_is_audited(
    s3: S3Client, invoke: Invoke, invoke_handler: InvokeHandler
) -> None:
    make_bucket(s3, "groundskeeper-local-website", WILDCARD_WRITE)
    direct = invoke_handler(watched_buckets, load_event("eventbridge-s3-object-created.json"))
    report = by_bucket(direct)["groundskeeper-local-website"]
    assert (direct["source"], report["status"], report["trigger_key"]) == (
        "eventbridge",
        "non_compliant",
        "assets/app.js",
    )
    # The next event for the same bucket, from any trigger of the container, is answered from the cache.
    assert by_bucket(invoke(s3_event("groundskeeper-local-website", ["k"])))["groundskeeper-local-website"][
        "cached"
    ]


def test_a_schedule_or_a_cloudtrail_event_audits_nothing(invoke_handler: InvokeHandler) -> None:
    for name in ("schedule-cors-sweep.json", "cloudtrail-put-bucket-cors.json"):
        result = invoke_handler(watched_buckets, load_event(name))
        assert (result["audited"], result["skip_reasons"]) == ([], {"unsupported_event": 1})
