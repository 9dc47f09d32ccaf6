"""The uploads entry point under moto with events nobody on the project wrote: a bad record costs a skip,
never the event, and no name reaches S3 unless S3 could hold it."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from tests.integration.cors_auditor.conftest import WILDCARD_WRITE, Invoke, by_bucket, make_bucket, s3_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_a_bad_bucket_name_does_not_cost_the_valid_records(
    s3: S3Client, invoke: Invoke, api_calls: Counter[str]
) -> None:
    make_bucket(s3, "b-bad", WILDCARD_WRITE)
    make_bucket(s3, "b-no-cors")
    names = ["b-bad", "bad name!", "b-no-cors"]
    event = {"Records": [s3_event(name, ["k"])["Records"][0] for name in names] + [None]}

    result = invoke(event)

    assert {name: r["status"] for name, r in by_bucket(result).items()} == {
        "b-bad": "non_compliant",
        "b-no-cors": "no_cors",
    }
    assert (result["skipped"], result["skip_reasons"]) == (2, {"invalid_bucket_name": 1, "no_bucket": 1})
    assert api_calls["GetBucketCors"] == 2


def test_a_direct_s3_event_with_a_bad_name_makes_no_s3_call(invoke: Invoke, api_calls: Counter[str]) -> None:
    result = invoke(s3_event("bad name!", ["k"]))
    assert (result["audited"], result["skip_reasons"]) == ([], {"invalid_bucket_name": 1})
    assert sum(api_calls.values()) == 0


def test_a_directory_bucket_is_skipped_not_reported_missing(invoke: Invoke, api_calls: Counter[str]) -> None:
    result = invoke(s3_event("logs--use1-az4--x-s3", ["k"]))
    assert (result["audited"], result["skip_reasons"]) == ([], {"directory_bucket": 1})
    assert sum(api_calls.values()) == 0
