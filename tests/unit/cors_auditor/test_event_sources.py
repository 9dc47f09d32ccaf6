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
    targets = targets_from_event({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "bkt"}}}]})
    assert list(targets.buckets) == ["bkt"]
    assert targets.buckets["bkt"].first_key is None


# ---- Untrusted input: real envelopes, names S3 would refuse, bodies built to exhaust the parser.


def sqs_batch(*bodies: str) -> dict[str, Any]:
    """An SQS batch (the shape `sam local generate-event sqs receive-message` gives), one message per body."""
    template = load_event("sqs-s3-object-created.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]}


def s3_body(bucket: str, key: str = "k") -> str:
    return json.dumps({"Records": [s3_record(bucket, key)]})


def test_a_bucket_name_s3_would_refuse_is_skipped_with_its_reason() -> None:
    targets = targets_from_event({"Records": [s3_record("bad name!", "k"), s3_record("b-good", "k")]})
    assert list(targets.buckets) == ["b-good"]
    assert (targets.skipped, targets.reasons) == (1, {"invalid_bucket_name": 1})


def test_one_bad_record_in_an_sqs_batch_leaves_the_others_to_audit() -> None:
    targets = targets_from_event(sqs_batch(s3_body("b-one"), s3_body("bad name!"), s3_body("b-two")))
    assert list(targets.buckets) == ["b-one", "b-two"]
    assert targets.reasons == {"invalid_bucket_name": 1}


def test_a_directory_bucket_is_skipped_not_audited() -> None:
    # S3's CORS API does not support directory buckets: GetBucketCors would only say NoSuchBucket.
    targets = targets_from_event({"Records": [s3_record("logs--use1-az4--x-s3", "k")]})
    assert (targets.buckets, targets.reasons) == ({}, {"directory_bucket": 1})


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, "[" * 5_000 + "]" * 5_000, '{"a":' * 5_000 + "1" + "}" * 5_000],
    ids=["unclosed-100k", "lists-5k-deep", "objects-5k-deep"],
)
def test_deeply_nested_bodies_are_skipped_not_raised(body: str) -> None:
    targets = targets_from_event(sqs_batch(body, s3_body("b-good")))
    assert list(targets.buckets) == ["b-good"]
    assert targets.skipped == 1


def test_the_parser_recursion_limit_is_a_named_reason() -> None:
    assert targets_from_event(sqs_batch("[" * 100_000)).reasons == {"body_too_deep": 1}


def test_an_oversized_body_is_skipped_unparsed() -> None:
    huge = json.dumps({"Records": [s3_record("b-huge", "k" * 300_000)]})
    assert targets_from_event(sqs_batch(huge)).reasons == {"body_too_large": 1}


def test_s3_to_sns_to_sqs_envelope_is_unwrapped() -> None:
    targets = targets_from_event(load_event("sqs-sns-s3-object-created.json"))
    assert targets.source == "sqs"
    assert list(targets.buckets) == ["groundskeeper-local-uploads"]
    assert targets.buckets["groundskeeper-local-uploads"].first_key == "invoices/2026/november report.pdf"
    assert targets.skipped == 0


def test_s3_to_sns_to_lambda_envelope_is_unwrapped() -> None:
    targets = targets_from_event(load_event("sns-s3-object-created.json"))
    assert targets.source == "sns"
    assert list(targets.buckets) == ["groundskeeper-local-uploads"]


def test_an_sns_message_that_is_not_an_s3_event_is_skipped() -> None:
    envelope = json.loads(load_event("sqs-sns-s3-object-created.json")["Records"][0]["body"])
    envelope["Message"] = '{"message": "hello world", "username": "lessa"}'
    targets = targets_from_event(sqs_batch(json.dumps(envelope)))
    assert (targets.buckets, targets.reasons) == ({}, {"not_an_s3_notification": 1})


def test_eventbridge_object_created_names_the_bucket() -> None:
    targets = targets_from_event(load_event("eventbridge-s3-object-created.json"))
    assert targets.source == "eventbridge"
    assert list(targets.buckets) == ["groundskeeper-local-website"]
    assert targets.buckets["groundskeeper-local-website"].first_key == "assets/app.js"
    assert not targets.fresh and not targets.sweep


def test_eventbridge_object_created_inside_sqs_names_the_bucket() -> None:
    targets = targets_from_event(load_event("sqs-eventbridge-s3-object-created.json"))
    assert (targets.source, list(targets.buckets)) == ("sqs", ["groundskeeper-local-website"])


def test_a_schedule_inside_a_queue_does_not_start_a_sweep() -> None:
    # Anyone who may send to the queue could otherwise make the auditor read every bucket.
    targets = targets_from_event(sqs_batch(json.dumps(load_event("schedule-cors-sweep.json"))))
    assert not targets.sweep
    assert targets.reasons == {"unsupported_event": 1}


def test_eventbridge_object_created_with_a_bad_bucket_is_skipped() -> None:
    event = load_event("eventbridge-s3-object-created.json")
    event["detail"]["bucket"]["name"] = "arn:aws:s3:us-east-1:123456789012:accesspoint/x"
    assert targets_from_event(event).reasons == {"invalid_bucket_name": 1}


def test_a_cloudtrail_cors_change_on_a_bad_name_is_skipped() -> None:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["requestParameters"]["bucketName"] = "bad name!"
    assert targets_from_event(event).reasons == {"invalid_bucket_name": 1}
