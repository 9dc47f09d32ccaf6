"""Turns each event shape the auditor takes into the buckets to audit; what cannot be used is skipped, counted
and logged with its reason, never raised, so one bad record never costs the rest of its event.

One parser per trigger the template wires, each called by that trigger's handler only: S3 notifications
(uploads), S3 `Object Created` EventBridge events (watched buckets), CloudTrail CORS changes from
EventBridge, and the sweep schedule. Nothing here guesses a shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import (
    S3EventBridgeNotificationEvent,
    S3EventRecord,
)

from cors_auditor.bucket_names import bucket_name_problem
from cors_auditor.skip_reasons import SkipReason
from groundskeeper.action_journal import event_digest
from groundskeeper.observability import logger

CORS_CHANGE_EVENTS = frozenset({"PutBucketCors", "DeleteBucketCors"})
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
    # The same on every retry of the event: its id (EventBridge, the schedule), or a digest of its records
    # (an S3 notification has no id). The scope of its rewrites in the action journal; "" = none.
    event_id: str = ""

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


def _add_s3_notification(targets: Targets, notification: Any) -> None:
    """An S3 notification: {"Records": [...]}, or the s3:TestEvent S3 sends when notifications are set up."""
    if not isinstance(notification, dict):
        targets.skip(SkipReason.NOT_AN_OBJECT)
        return
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


def _add_object_created(targets: Targets, event: Any) -> None:
    """S3's own EventBridge event: the bucket and key sit in `detail`, the key as sent (not URL-encoded)."""
    if not isinstance(event, dict):
        targets.skip(SkipReason.NOT_AN_OBJECT)
        return
    bridge = EventBridgeEvent(event)
    if bridge.get("source") != "aws.s3" or bridge.get("detail-type") != "Object Created":
        targets.skip(SkipReason.UNSUPPORTED_EVENT, detail_type=bridge.get("detail-type"))
        return
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


def _add_cors_change(targets: Targets, event: Any) -> None:
    """CloudTrail's record of a PutBucketCors or DeleteBucketCors call, as EventBridge delivers it."""
    if not isinstance(event, dict):
        targets.skip(SkipReason.NOT_AN_OBJECT)
        return
    bridge = EventBridgeEvent(event)
    detail_type = bridge.get("detail-type")
    detail = bridge.get("detail")
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
    targets.add(bucket)


def _event_id(event: Any) -> str:
    """EventBridge's id when the event has one, else a digest of the whole event."""
    if isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]:
        return str(event["id"])[:_LOG_CHARS]
    return event_digest(event)


def targets_from_s3_notification(event: Any) -> Targets:
    """The uploads trigger: an S3 notification sent straight to the function."""
    targets = Targets(source="s3", event_id=event_digest(event))
    _add_s3_notification(targets, event)
    return targets


def targets_from_object_created(event: Any) -> Targets:
    """The watched buckets' trigger: S3's `Object Created` event, from EventBridge."""
    targets = Targets(source="eventbridge", event_id=_event_id(event))
    _add_object_created(targets, event)
    return targets


def targets_from_cors_change(event: Any) -> Targets:
    """The CORS-change trigger: the bucket is audited fresh, since its configuration just changed."""
    targets = Targets(source="cloudtrail", fresh=True, event_id=_event_id(event))
    _add_cors_change(targets, event)
    return targets


def sweep_targets(event: Any = None) -> Targets:
    """The sweep schedule: every bucket in the account, ignoring cached verdicts. Only the scheduled event's
    id is read: a retry of the same sweep has the same one."""
    return Targets(source="schedule", sweep=True, fresh=True, event_id=_event_id(event) if event else "")
