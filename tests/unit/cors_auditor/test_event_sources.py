"""Every event shape the auditor takes becomes a list of distinct buckets; junk is skipped, not raised."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cors_auditor.event_sources import targets_from_event
from tests.conftest import load_event


def s3_record(bucket: str, key: str) -> dict[str, Any]:
    record = copy.deepcopy(load_event("s3-object-created.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = key
    return record


def test_s3_notification_with_a_url_encoded_key() -> None:
    targets = targets_from_event(load_event("s3-object-created.json"))
    assert targets.source == "s3"
    assert list(targets.buckets) == ["groundskeeper-local-uploads"]
    assert targets.buckets["groundskeeper-local-uploads"].first_key == "reports/q3 summary 2026.csv"
    assert not targets.fresh
    assert targets.skipped == 0


def test_records_for_the_same_bucket_are_deduplicated_in_order() -> None:
    records = [s3_record("b-one", f"k{i}") for i in range(5)] + [s3_record("b-two", "x%2Fy+z")]
    targets = targets_from_event({"Records": [*records, s3_record("b-one", "again")]})
    assert list(targets.buckets) == ["b-one", "b-two"]
    assert targets.buckets["b-one"].records == 6
    assert targets.buckets["b-two"].first_key == "x/y z"


def test_sqs_wrapped_notification() -> None:
    targets = targets_from_event(load_event("sqs-s3-object-created.json"))
    assert targets.source == "sqs"
    assert targets.buckets["groundskeeper-local-uploads"].first_key == "uploads/march invoice #1.pdf"


def test_sqs_wrapped_test_event_is_skipped() -> None:
    targets = targets_from_event(load_event("s3-test-event.json"))
    assert targets.buckets == {}
    assert targets.skipped == 1


def test_direct_test_event_is_skipped() -> None:
    body = json.loads(load_event("s3-test-event.json")["Records"][0]["body"])
    targets = targets_from_event(body)
    assert (targets.buckets, targets.skipped) == ({}, 1)


def test_sqs_batch_with_a_bad_body_keeps_the_good_messages() -> None:
    event = load_event("sqs-s3-object-created.json")
    good = event["Records"][0]
    event["Records"] = [good, {**good, "body": "not json"}, {**good, "body": json.dumps({"Records": []})}]
    targets = targets_from_event(event)
    assert list(targets.buckets) == ["groundskeeper-local-uploads"]
    assert targets.skipped == 2


def test_cloudtrail_cors_change_names_the_bucket_and_skips_the_cache() -> None:
    targets = targets_from_event(load_event("cloudtrail-put-bucket-cors.json"))
    assert targets.source == "cloudtrail"
    assert list(targets.buckets) == ["groundskeeper-local-website"]
    assert targets.fresh


def test_cloudtrail_delete_bucket_cors() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["eventName"] = "DeleteBucketCors"
    assert list(targets_from_event(event).buckets) == ["groundskeeper-local-website"]


def test_other_cloudtrail_calls_are_skipped() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["eventName"] = "PutBucketPolicy"
    targets = targets_from_event(event)
    assert (targets.buckets, targets.skipped) == ({}, 1)


def test_schedule_means_sweep() -> None:
    targets = targets_from_event(load_event("schedule-cors-sweep.json"))
    assert targets.sweep and targets.fresh
    assert targets.source == "schedule"


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        "hello",
        {"Records": []},
        {"Records": [None, 3]},
        {"Records": [{"eventSource": "aws:s3"}]},
        {"Records": [{"eventSource": "aws:s3", "s3": "oops"}]},
        {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": ""}}}]},
        {"detail-type": "Something", "detail": "x"},
        {"Records": [{"eventSource": "aws:sqs"}]},
        {"Records": [{"eventSource": "aws:sqs", "body": None}]},
        {"Records": [{"eventSource": "aws:sqs", "body": "[1]"}, 5]},
        {"Records": [{"eventSource": "aws:sqs", "body": "{not json"}]},
        {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "PutBucketCors"}},
    ],
)
def test_junk_is_skipped_not_raised(event: Any) -> None:
    targets = targets_from_event(event)
    assert targets.buckets == {}
    assert targets.skipped >= 1


def test_a_record_without_an_object_still_names_its_bucket() -> None:
    targets = targets_from_event({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]})
    assert list(targets.buckets) == ["b"]
    assert targets.buckets["b"].first_key is None
