"""Why an event record is skipped, not audited: one vocabulary for the log line, the result and the docs."""

from __future__ import annotations

from enum import StrEnum


class SkipReason(StrEnum):
    NOT_AN_OBJECT = "not_an_object"  # the event, a record or a body is not a JSON object
    UNSUPPORTED_EVENT = "unsupported_event"  # a shape the auditor does not take (see docs/cors-auditor.md)
    NOT_AN_S3_NOTIFICATION = "not_an_s3_notification"  # an SNS message or body that is no S3 event
    S3_TEST_EVENT = "s3_test_event"  # sent once when notifications are set up
    NO_RECORDS = "no_records"
    NO_BUCKET = "no_bucket"  # a record without a bucket name
    INVALID_BUCKET_NAME = "invalid_bucket_name"  # a name S3 could not hold: never sent to S3
    DIRECTORY_BUCKET = "directory_bucket"  # S3's CORS API does not support directory buckets
    NOT_A_CORS_CHANGE = "not_a_cors_change"  # a CloudTrail call other than Put/DeleteBucketCors
    NO_BODY = "no_body"  # an SQS message or SNS notification without a text body
    BODY_NOT_JSON = "body_not_json"
    BODY_TOO_LARGE = "body_too_large"  # over MAX_BODY_CHARS: left unparsed
    BODY_TOO_DEEP = "body_too_deep"  # nesting beyond what the JSON parser can recurse into
