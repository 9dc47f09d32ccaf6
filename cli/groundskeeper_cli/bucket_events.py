"""Turns on a bucket's EventBridge notifications (what WatchedBuckets needs), keeping its other ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# What put_bucket_notification_configuration takes back from get_bucket_notification_configuration.
_KEPT = (
    "TopicConfigurations",
    "QueueConfigurations",
    "LambdaFunctionConfigurations",
    "EventBridgeConfiguration",
)


def watch_bucket(s3: S3Client, bucket: str) -> str:
    """Send the bucket's events to EventBridge: "enabled", or "already" when they already go there.

    S3 replaces the whole notification configuration on each put, so the existing topic, queue and function
    notifications are read first and written back unchanged."""
    current: dict[str, Any] = dict(s3.get_bucket_notification_configuration(Bucket=bucket))
    kept = {key: current[key] for key in _KEPT if key in current}
    if "EventBridgeConfiguration" in kept:
        return "already"
    kept["EventBridgeConfiguration"] = {}
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration=kept,  # type: ignore[arg-type]
        # The existing destinations were validated when they were set; do not fail on one since gone.
        SkipDestinationValidation=True,
    )
    return "enabled"
