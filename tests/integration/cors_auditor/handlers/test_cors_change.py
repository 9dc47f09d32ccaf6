"""The CORS-change entry point under moto: a CloudTrail PutBucketCors / DeleteBucketCors audits that bucket
fresh, and the fresh verdict serves the uploads that follow."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from cors_auditor.handlers import cors_change
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


def test_cloudtrail_cors_change_audits_fresh(
    s3: S3Client, invoke: Invoke, invoke_handler: InvokeHandler, api_calls: Counter[str]
) -> None:
    make_bucket(s3, "groundskeeper-local-website", GOOD)
    assert (
        invoke(s3_event("groundskeeper-local-website", ["index.html"]))["audited"][0]["status"] == "compliant"
    )
    s3.put_bucket_cors(Bucket="groundskeeper-local-website", CORSConfiguration=WILDCARD_WRITE)  # type: ignore[arg-type]

    result = invoke_handler(cors_change, load_event("cloudtrail-put-bucket-cors.json"))

    (report,) = result["audited"]
    assert (report["status"], report["cached"], result["source"]) == ("non_compliant", False, "cloudtrail")
    assert api_calls["GetBucketCors"] == 2
    # ...and the fresh verdict now serves the uploads that follow (one container: the cache is shared).
    assert invoke(s3_event("groundskeeper-local-website", ["x"]))["audited"][0]["status"] == "non_compliant"
    assert api_calls["GetBucketCors"] == 2


def test_another_cloudtrail_call_or_an_s3_notification_audits_nothing(
    s3: S3Client, invoke_handler: InvokeHandler, api_calls: Counter[str]
) -> None:
    other = load_event("cloudtrail-put-bucket-cors.json")
    other["detail"]["eventName"] = "PutBucketPolicy"
    assert invoke_handler(cors_change, other)["skip_reasons"] == {"not_a_cors_change": 1}
    assert invoke_handler(cors_change, s3_event("b", ["k"]))["skip_reasons"] == {"unsupported_event": 1}
    assert sum(api_calls.values()) == 0
