"""Each trigger's parser turns its own event into a list of distinct buckets; junk, and another trigger's
event, is skipped with its reason, never raised."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cors_auditor.event_sources import (
    Targets,
    sweep_targets,
    targets_from_cors_change,
    targets_from_object_created,
    targets_from_s3_notification,
)
from tests.conftest import load_event

CLOUDTRAIL = "cloudtrail-put-bucket-cors.json"


def s3_record(bucket: str, key: str) -> dict[str, Any]:
    record = copy.deepcopy(load_event("s3-object-created.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = key
    return record


def test_s3_notification_with_a_url_encoded_key() -> None:
    targets = targets_from_s3_notification(load_event("s3-object-created.json"))
    assert targets.source == "s3"
    assert list(targets.buckets) == ["groundskeeper-local-uploads"]
    assert targets.buckets["groundskeeper-local-uploads"].first_key == "reports/q3 summary 2026.csv"
    assert not targets.fresh
    assert targets.skipped == 0


def test_records_for_the_same_bucket_are_deduplicated_in_order() -> None:
    records = [s3_record("b-one", f"k{i}") for i in range(5)] + [s3_record("b-two", "x%2Fy+z")]
    targets = targets_from_s3_notification({"Records": [*records, s3_record("b-one", "again")]})
    assert list(targets.buckets) == ["b-one", "b-two"]
    assert targets.buckets["b-one"].records == 6
    assert targets.buckets["b-two"].first_key == "x/y z"


def test_the_test_event_is_skipped() -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "groundskeeper-local-uploads"}
    targets = targets_from_s3_notification(event)
    assert (targets.buckets, targets.reasons) == ({}, {"s3_test_event": 1})


def test_cloudtrail_cors_change_names_the_bucket_and_skips_the_cache() -> None:
    targets = targets_from_cors_change(load_event("cloudtrail-put-bucket-cors.json"))
    assert targets.source == "cloudtrail"
    assert list(targets.buckets) == ["groundskeeper-local-website"]
    assert targets.fresh


def test_cloudtrail_delete_bucket_cors() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["eventName"] = "DeleteBucketCors"
    assert list(targets_from_cors_change(event).buckets) == ["groundskeeper-local-website"]


def test_other_cloudtrail_calls_are_skipped() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["eventName"] = "PutBucketPolicy"
    targets = targets_from_cors_change(event)
    assert (targets.buckets, targets.skipped) == ({}, 1)


def test_schedule_means_sweep() -> None:
    targets = sweep_targets()
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
        {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "PutBucketCors"}},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": "x"},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": None}}},
        None,
        7,
    ],
)
@pytest.mark.parametrize(
    "parse", [targets_from_s3_notification, targets_from_object_created, targets_from_cors_change]
)
def test_junk_is_skipped_not_raised(parse: Callable[[Any], Targets], event: Any) -> None:
    targets = parse(event)
    assert targets.buckets == {}
    assert targets.skipped >= 1


@pytest.mark.parametrize(
    ("parse", "others"),
    [
        (
            targets_from_s3_notification,
            ["eventbridge-s3-object-created.json", "cloudtrail-put-bucket-cors.json"],
        ),
        (targets_from_object_created, ["s3-object-created.json", CLOUDTRAIL]),
        (targets_from_cors_change, ["s3-object-created.json", "eventbridge-s3-object-created.json"]),
    ],
)
def test_another_triggers_event_is_skipped(parse: Callable[[Any], Targets], others: list[str]) -> None:
    for name in [*others, "schedule-cors-sweep.json"]:
        targets = parse(load_event(name))
        assert (targets.buckets, targets.skipped, targets.sweep) == ({}, 1, False)


def test_a_record_without_an_object_still_names_its_bucket() -> None:
    targets = targets_from_s3_notification(
        {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "bkt"}}}]}
    )
    assert list(targets.buckets) == ["bkt"]
    assert targets.buckets["bkt"].first_key is None


# ---- Untrusted input: names S3 would refuse.


def test_a_bucket_name_s3_would_refuse_is_skipped_with_its_reason() -> None:
    targets = targets_from_s3_notification(
        {"Records": [s3_record("bad name!", "k"), s3_record("b-good", "k")]}
    )
    assert list(targets.buckets) == ["b-good"]
    assert (targets.skipped, targets.reasons) == (1, {"invalid_bucket_name": 1})


def test_a_directory_bucket_is_skipped_not_audited() -> None:
    # S3's CORS API does not support directory buckets: GetBucketCors would only say NoSuchBucket.
    targets = targets_from_s3_notification({"Records": [s3_record("logs--use1-az4--x-s3", "k")]})
    assert (targets.buckets, targets.reasons) == ({}, {"directory_bucket": 1})


def test_eventbridge_object_created_names_the_bucket() -> None:
    targets = targets_from_object_created(load_event("eventbridge-s3-object-created.json"))
    assert targets.source == "eventbridge"
    assert list(targets.buckets) == ["groundskeeper-local-website"]
    assert targets.buckets["groundskeeper-local-website"].first_key == "assets/app.js"
    assert not targets.fresh and not targets.sweep


def test_eventbridge_object_created_with_a_bad_bucket_is_skipped() -> None:
    event = load_event("eventbridge-s3-object-created.json")
    event["detail"]["bucket"]["name"] = "arn:aws:s3:us-east-1:123456789012:accesspoint/x"
    assert targets_from_object_created(event).reasons == {"invalid_bucket_name": 1}


def test_a_cloudtrail_cors_change_on_a_bad_name_is_skipped() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["requestParameters"]["bucketName"] = "bad name!"
    assert targets_from_cors_change(event).reasons == {"invalid_bucket_name": 1}
