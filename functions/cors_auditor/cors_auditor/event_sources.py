"""Turns each event shape (S3, SQS-wrapped S3, CloudTrail CORS change, schedule) into the buckets to audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSRecord
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

from groundskeeper.observability import logger

CORS_CHANGE_EVENTS = frozenset({"PutBucketCors", "DeleteBucketCors"})


@dataclass
class BucketTarget:
    bucket: str
    records: int = 0
    first_key: str | None = None  # URL-decoded, for the log line


@dataclass
class Targets:
    """The distinct buckets named by one event, in first-seen order, plus what could not be used."""

    source: str = "unknown"
    buckets: dict[str, BucketTarget] = field(default_factory=dict)
    skipped: int = 0
    sweep: bool = False  # audit every bucket in the account
    fresh: bool = False  # ignore cached verdicts: the configuration just changed, or this is the sweep

    def add(self, bucket: str, key: str | None = None) -> None:
        target = self.buckets.setdefault(bucket, BucketTarget(bucket))
        target.records += 1
        if target.first_key is None and key is not None:
            target.first_key = unquote_plus(key)

    def skip(self, reason: str, **context: Any) -> None:
        self.skipped += 1
        logger.info("record skipped", extra={"reason": reason, **context})


def _add_s3_notification(targets: Targets, notification: Any) -> None:
    """An S3 notification: {"Records": [...]}, or the s3:TestEvent sent when notifications are set up."""
    if not isinstance(notification, dict):
        targets.skip("not an S3 notification")
        return
    if notification.get("Event") == "s3:TestEvent":
        targets.skip("s3:TestEvent", bucket=notification.get("Bucket"))
        return
    records = notification.get("Records")
    if not isinstance(records, list) or not records:
        targets.skip("no records in the S3 notification")
        return
    for raw in records:
        bucket, key = _bucket_and_key(raw)
        if bucket is None:
            event_name = raw.get("eventName") if isinstance(raw, dict) else None
            targets.skip("record names no bucket", event_name=event_name)
            continue
        targets.add(bucket, key)


def _bucket_and_key(raw: Any) -> tuple[str | None, str | None]:
    # A malformed record must cost a log line, never the whole batch.
    if not isinstance(raw, dict):
        return None, None
    record = S3EventRecord(raw)
    try:
        bucket = record.s3.bucket.name
    except (KeyError, TypeError, AttributeError):
        return None, None
    try:
        key: Any = record.s3.get_object.key
    except (KeyError, TypeError, AttributeError):
        key = None
    return (bucket if isinstance(bucket, str) and bucket else None), (key if isinstance(key, str) else None)


def _add_sqs_messages(targets: Targets, event: dict[str, Any]) -> None:
    for raw in event["Records"]:
        message_id = raw.get("messageId") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("body"), str):
            targets.skip("SQS message has no body", message_id=message_id)
            continue
        try:
            body = SQSRecord(raw).json_body
        except ValueError:
            targets.skip("SQS message body is not JSON", message_id=message_id)
            continue
        _add_s3_notification(targets, body)


def _add_eventbridge(targets: Targets, event: dict[str, Any]) -> None:
    bridge = EventBridgeEvent(event)
    if bridge.detail_type == "Scheduled Event":
        targets.source, targets.sweep, targets.fresh = "schedule", True, True
        return
    detail = bridge.detail if isinstance(bridge.get("detail"), dict) else {}
    parameters = detail.get("requestParameters") or {}
    bucket = parameters.get("bucketName") if isinstance(parameters, dict) else None
    if detail.get("eventName") not in CORS_CHANGE_EVENTS or not isinstance(bucket, str) or not bucket:
        targets.skip("not a bucket CORS change", detail_type=bridge.detail_type)
        return
    targets.source, targets.fresh = "cloudtrail", True
    targets.add(bucket)


def targets_from_event(event: Any) -> Targets:
    """Which buckets this invocation must audit. Unknown shapes are skipped with a log line, never raised."""
    targets = Targets()
    if not isinstance(event, dict):
        targets.skip("event is not a JSON object")
    elif "detail-type" in event:
        _add_eventbridge(targets, event)
    elif isinstance(event.get("Records"), list) and event["Records"]:
        first = event["Records"][0]
        if isinstance(first, dict) and first.get("eventSource") == "aws:sqs":
            targets.source = "sqs"
            _add_sqs_messages(targets, event)
        else:
            targets.source = "s3"
            _add_s3_notification(targets, event)
    else:
        _add_s3_notification(targets, event)
    return targets
