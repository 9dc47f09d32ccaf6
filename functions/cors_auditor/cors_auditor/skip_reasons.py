"""Why an event record is skipped, not audited: one vocabulary for the log line, the result and the docs."""

from __future__ import annotations

from enum import StrEnum


class SkipReason(StrEnum):
    NOT_AN_OBJECT = "not_an_object"  # the event or a record is not a JSON object
    UNSUPPORTED_EVENT = "unsupported_event"  # another event than the trigger sends (see docs/cors-auditor.md)
    S3_TEST_EVENT = "s3_test_event"  # sent once when notifications are set up
    NO_RECORDS = "no_records"
    NO_BUCKET = "no_bucket"  # a record without a bucket name
    INVALID_BUCKET_NAME = "invalid_bucket_name"  # a name S3 could not hold: never sent to S3
    DIRECTORY_BUCKET = "directory_bucket"  # S3's CORS API does not support directory buckets
    NOT_A_CORS_CHANGE = "not_a_cors_change"  # a CloudTrail call other than Put/DeleteBucketCors
