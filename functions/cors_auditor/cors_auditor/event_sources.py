"""Turns each event shape the auditor takes into the buckets to audit; what cannot be used is skipped, counted
and logged with its reason, never raised, so one bad record never costs the rest of its batch.

Shapes: S3 notifications (direct, in SQS, in SNS, in SNS in SQS), S3 `Object Created` EventBridge events
(direct or in SQS), CloudTrail CORS changes from EventBridge, and the sweep schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSRecord
from aws_lambda_powertools.utilities.data_classes.s3_event import (
    S3EventBridgeNotificationEvent,
    S3EventRecord,
)
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord

from cors_auditor.bucket_names import bucket_name_problem
from cors_auditor.skip_reasons import SkipReason
from groundskeeper.observability import logger

CORS_CHANGE_EVENTS = frozenset({"PutBucketCors", "DeleteBucketCors"})
# SQS's classic message limit. An S3 notification is 1-2 KB even wrapped in SNS, so anything bigger is not
# one, and is not worth parsing.
MAX_BODY_CHARS = 256 * 1024
# How much of an untrusted value a log line carries.
_LOG_CHARS = 200


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
    reasons: dict[str, int] = field(default_factory=dict)  # SkipReason value -> records skipped for it
    sweep: bool = False  # audit every bucket in the account
    fresh: bool = False  # ignore cached verdicts: the configuration just changed, or this is the sweep

    def add(self, bucket: str, key: str | None = None, *, url_encoded_key: bool = True) -> None:
        problem = bucket_name_problem(bucket)
        if problem is not None:
            self.skip(problem, bucket=bucket)
            return
        target = self.buckets.setdefault(bucket, BucketTarget(bucket))
        target.records += 1
        if target.first_key is None and key is not None:
            target.first_key = unquote_plus(key) if url_encoded_key else key

    def skip(self, reason: SkipReason, **context: Any) -> None:
        self.skipped += 1
        self.reasons[reason.value] = self.reasons.get(reason.value, 0) + 1
        logger.info(
            "record skipped", extra={"reason": reason.value, **{k: _brief(v) for k, v in context.items()}}
        )


def _brief(value: Any) -> Any:
    """An untrusted value as a log line may carry it: short strings, never a structure to serialise."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= _LOG_CHARS else value[:_LOG_CHARS] + "..."
    return f"<{type(value).__name__}>"


def _parse_json(text: str) -> tuple[Any, SkipReason | None]:
    """The parsed value, or why the text is not one; hitting the parser's recursion limit is a reason too."""
    if len(text) > MAX_BODY_CHARS:
        return None, SkipReason.BODY_TOO_LARGE
    try:
        return json.loads(text), None
    except RecursionError:
        return None, SkipReason.BODY_TOO_DEEP
    except ValueError:
        return None, SkipReason.BODY_NOT_JSON


def _add_s3_notification(targets: Targets, notification: dict[str, Any]) -> None:
    """An S3 notification: {"Records": [...]}, or the s3:TestEvent sent when notifications are set up."""
    if notification.get("Event") == "s3:TestEvent":
        targets.skip(SkipReason.S3_TEST_EVENT, bucket=notification.get("Bucket"))
        return
    records = notification.get("Records")
    if not isinstance(records, list) or not records:
        targets.skip(SkipReason.NO_RECORDS)
        return
    for raw in records:
        bucket, key = _bucket_and_key(raw)
        if bucket is None:
            event_name = raw.get("eventName") if isinstance(raw, dict) else None
            targets.skip(SkipReason.NO_BUCKET, event_name=event_name)
            continue
        targets.add(bucket, key)


def _bucket_and_key(raw: Any) -> tuple[str | None, str | None]:
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


def _is_sns_notification(message: dict[str, Any]) -> bool:
    return message.get("Type") == "Notification" and "TopicArn" in message and "Message" in message


def _add_message(targets: Targets, text: Any, *, in_sns: bool = False, **context: Any) -> None:
    """An envelope's text: an S3 notification, an EventBridge event, or (once) an SNS notification."""
    if not isinstance(text, str):
        targets.skip(SkipReason.NO_BODY, **context)
        return
    message, problem = _parse_json(text)
    if problem is not None:
        targets.skip(problem, **context)
    elif not isinstance(message, dict):
        targets.skip(SkipReason.NOT_AN_S3_NOTIFICATION, **context)
    elif not in_sns and _is_sns_notification(message):
        # S3 -> SNS -> SQS without raw delivery: the body is SNS's notification, the S3 event its Message.
        _add_message(targets, message["Message"], in_sns=True, **context)
    elif "detail-type" in message:
        _add_eventbridge(targets, message, top_level=False)
    elif "Records" in message or message.get("Event") == "s3:TestEvent":
        _add_s3_notification(targets, message)
    else:
        targets.skip(SkipReason.NOT_AN_S3_NOTIFICATION, **context)


def _add_sqs_messages(targets: Targets, records: list[Any]) -> None:
    for raw in records:
        if not isinstance(raw, dict):
            targets.skip(SkipReason.NOT_AN_OBJECT)
            continue
        message = SQSRecord(raw)
        _add_message(targets, message.get("body"), message_id=message.get("messageId"))


def _add_sns_messages(targets: Targets, records: list[Any]) -> None:
    for raw in records:
        sns = raw.get("Sns") if isinstance(raw, dict) else None
        if not isinstance(sns, dict):
            targets.skip(SkipReason.NOT_AN_OBJECT)
            continue
        notification = SNSEventRecord(raw).sns
        _add_message(
            targets, notification.get("Message"), in_sns=True, message_id=notification.get("MessageId")
        )


def _add_object_created(targets: Targets, event: dict[str, Any]) -> None:
    """S3's own EventBridge event: the bucket and key sit in `detail`, the key as sent (not URL-encoded)."""
    detail = S3EventBridgeNotificationEvent(event).detail
    try:
        bucket: Any = detail.bucket.name
    except (KeyError, TypeError, AttributeError):
        bucket = None
    try:
        key: Any = detail.object.key
    except (KeyError, TypeError, AttributeError):
        key = None
    if not isinstance(bucket, str) or not bucket:
        targets.skip(SkipReason.NO_BUCKET, detail_type="Object Created")
        return
    targets.add(bucket, key if isinstance(key, str) else None, url_encoded_key=False)


def _add_eventbridge(targets: Targets, event: dict[str, Any], *, top_level: bool) -> None:
    bridge = EventBridgeEvent(event)
    detail_type = bridge.get("detail-type")
    detail = bridge.get("detail")
    if detail_type == "Scheduled Event" and top_level:
        targets.source, targets.sweep, targets.fresh = "schedule", True, True
        return
    if detail_type == "Object Created" and bridge.get("source") == "aws.s3" and isinstance(detail, dict):
        if top_level:
            targets.source = "eventbridge"
        _add_object_created(targets, event)
        return
    # Anything else must be a CloudTrail record of a CORS change; a schedule inside a queue is not taken,
    # so whoever may send to the queue cannot start a sweep.
    detail = detail if isinstance(detail, dict) else {}
    event_name = detail.get("eventName")
    if event_name not in CORS_CHANGE_EVENTS:
        reason = SkipReason.NOT_A_CORS_CHANGE if event_name else SkipReason.UNSUPPORTED_EVENT
        targets.skip(reason, detail_type=detail_type, event_name=event_name)
        return
    parameters = detail.get("requestParameters")
    bucket = parameters.get("bucketName") if isinstance(parameters, dict) else None
    if not isinstance(bucket, str) or not bucket:
        targets.skip(SkipReason.NO_BUCKET, detail_type=detail_type, event_name=event_name)
        return
    if top_level:
        targets.source = "cloudtrail"
    targets.fresh = True
    targets.add(bucket)


def targets_from_event(event: Any) -> Targets:
    """Which buckets this invocation must audit. Unknown shapes are skipped with a log line, never raised."""
    targets = Targets()
    if not isinstance(event, dict):
        targets.skip(SkipReason.NOT_AN_OBJECT)
    elif "detail-type" in event:
        _add_eventbridge(targets, event, top_level=True)
    elif isinstance(event.get("Records"), list) and event["Records"]:
        first = event["Records"][0]
        origin = (first.get("eventSource") or first.get("EventSource")) if isinstance(first, dict) else None
        if origin == "aws:sqs":
            targets.source = "sqs"
            _add_sqs_messages(targets, event["Records"])
        elif origin == "aws:sns":
            targets.source = "sns"
            _add_sns_messages(targets, event["Records"])
        else:
            targets.source = "s3"
            _add_s3_notification(targets, event)
    else:
        _add_s3_notification(targets, event)
    return targets
