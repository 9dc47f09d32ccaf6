"""S3 adapter: read and write one bucket's CORS configuration, and list the account's buckets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from groundskeeper.errors import error_code, error_message
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# AWS refuses a ListBuckets without MaxBuckets (an unpaginated one) from an account whose general purpose
# bucket quota was raised above 10,000; 10,000 is the largest page it serves.
LIST_BUCKETS_PAGE = 10_000
# Codes S3 uses for "this bucket is not ours to read" (AllAccessDisabled: a suspended account's bucket).
DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled"})


@dataclass(frozen=True)
class CorsRead:
    """What get_bucket_cors said: status ok | no_cors | missing | access_denied, and the rules when ok."""

    status: str
    rules: list[dict[str, Any]] = field(default_factory=list)


def read_cors(s3: S3Client, bucket: str) -> CorsRead:
    """One GetBucketCors call, with the expected "no answer" codes turned into statuses."""
    try:
        response = s3.get_bucket_cors(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchCORSConfiguration":
            return CorsRead("no_cors")
        if code == "NoSuchBucket":
            logger.info("bucket is gone since the event", extra={"bucket": bucket})
            return CorsRead("missing")
        if code in DENIED_CODES:
            logger.warning(
                "access denied reading the bucket's CORS: grant s3:GetBucketCORS on it to audit it",
                extra={"bucket": bucket, "error_code": code, "error_message": error_message(exc)},
            )
            return CorsRead("access_denied")
        raise
    return CorsRead("ok", [dict(rule) for rule in response.get("CORSRules", [])])


def write_cors(s3: S3Client, bucket: str, rules: list[dict[str, Any]]) -> str:
    """Put the rules in the documented shape, or delete the configuration when none is left; the action."""
    if rules:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})  # type: ignore[typeddict-item]
        return "put"
    s3.delete_bucket_cors(Bucket=bucket)
    return "delete"


def list_bucket_names(s3: S3Client) -> list[str]:
    """Every bucket in the account, page by page (ContinuationToken)."""
    names: list[str] = []
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": LIST_BUCKETS_PAGE}):
        names.extend(bucket["Name"] for bucket in page.get("Buckets", []) if "Name" in bucket)
    return names


@dataclass(frozen=True)
class TagRead:
    """What get_bucket_tagging said about one tag: its value (None when absent), or the denial's code."""

    value: str | None = None
    error: str | None = None


def read_tag(s3: S3Client, bucket: str, key: str) -> TagRead:
    """One GetBucketTagging call; a bucket without tags (NoSuchTagSet) has no value, a denial is reported."""
    try:
        response = s3.get_bucket_tagging(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in {"NoSuchTagSet", "NoSuchBucket"}:
            return TagRead()
        if code in DENIED_CODES:
            logger.warning(
                "access denied reading the bucket's tags: grant s3:GetBucketTagging on it; the global "
                "allowlist applies",
                extra={"bucket": bucket, "error_code": code},
            )
            return TagRead(error=code)
        raise
    # An empty value comes back with no Value at all.
    values = [tag.get("Value", "") for tag in response.get("TagSet", []) if tag.get("Key") == key]
    return TagRead(values[0] if values else None)
