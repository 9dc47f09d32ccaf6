"""The auditor's handler under moto with events nobody on the project wrote: bad records cost a skip, never
the batch, and no name reaches S3 unless S3 could hold it."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import WILDCARD_WRITE, by_bucket, make_bucket, s3_event
from tests.integration.cors_auditor.test_handler import Invoke

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def sqs_batch(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs-s3-object-created.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]}


def test_a_bad_bucket_name_in_an_sqs_batch_does_not_fail_the_valid_records(
    s3: S3Client, invoke: Invoke, api_calls: Counter[str]
) -> None:
    make_bucket(s3, "b-bad", WILDCARD_WRITE)
    make_bucket(s3, "b-no-cors")
    event = sqs_batch(
        json.dumps(s3_event("b-bad", ["k"])),
        json.dumps(s3_event("bad name!", ["k"])),
        "[" * 100_000,
        json.dumps(s3_event("b-no-cors", ["k"])),
    )

    result = invoke(event)

    assert {name: r["status"] for name, r in by_bucket(result).items()} == {
        "b-bad": "non_compliant",
        "b-no-cors": "no_cors",
    }
    assert (result["skipped"], result["skip_reasons"]) == (2, {"invalid_bucket_name": 1, "body_too_deep": 1})
    assert api_calls["GetBucketCors"] == 2


def test_a_direct_s3_event_with_a_bad_name_makes_no_s3_call(invoke: Invoke, api_calls: Counter[str]) -> None:
    result = invoke(s3_event("bad name!", ["k"]))
    assert (result["audited"], result["skip_reasons"]) == ([], {"invalid_bucket_name": 1})
    assert sum(api_calls.values()) == 0


def test_a_directory_bucket_is_skipped_not_reported_missing(invoke: Invoke, api_calls: Counter[str]) -> None:
    result = invoke(s3_event("logs--use1-az4--x-s3", ["k"]))
    assert (result["audited"], result["skip_reasons"]) == ([], {"directory_bucket": 1})
    assert sum(api_calls.values()) == 0


def test_s3_sns_sqs_envelope_is_audited(s3: S3Client, invoke: Invoke) -> None:
    make_bucket(s3, "groundskeeper-local-uploads", WILDCARD_WRITE)
    result = invoke(load_event("sqs-sns-s3-object-created.json"))
    report = by_bucket(result)["groundskeeper-local-uploads"]
    assert (report["status"], report["trigger_key"]) == ("non_compliant", "invoices/2026/november report.pdf")
    assert result["skipped"] == 0


def test_eventbridge_object_created_is_audited(s3: S3Client, invoke: Invoke) -> None:
    make_bucket(s3, "groundskeeper-local-website", WILDCARD_WRITE)
    direct = invoke(load_event("eventbridge-s3-object-created.json"))
    queued = invoke(load_event("sqs-eventbridge-s3-object-created.json"))
    assert by_bucket(direct)["groundskeeper-local-website"]["status"] == "non_compliant"
    assert (direct["source"], queued["source"]) == ("eventbridge", "sqs")
    # The second delivery of the same upload burst is answered from the verdict cache.
    assert by_bucket(queued)["groundskeeper-local-website"]["cached"] is True
