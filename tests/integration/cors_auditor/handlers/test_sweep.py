"""The sweep entry point under moto: every bucket of the account, a few at a time, ignoring the cache."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cors_auditor.handlers import sweep
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import GOOD, WILDCARD_WRITE, InvokeHandler, make_bucket
from tests.integration.real_shapes import requests

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_sweep_audits_every_bucket(
    s3: S3Client, invoke_handler: InvokeHandler, api_calls: Counter[str], use_settings: Callable[..., Any]
) -> None:
    use_settings(sweep_concurrency=4)
    for i in range(12):
        make_bucket(s3, f"b-sweep-{i:02d}", WILDCARD_WRITE if i % 3 == 0 else (GOOD if i % 3 == 1 else None))
    api_calls.clear()

    result = invoke_handler(sweep, load_event("schedule-cors-sweep.json"))

    statuses = Counter(r["status"] for r in result["audited"])
    assert statuses == Counter({"non_compliant": 4, "compliant": 4, "no_cors": 4})
    assert sorted(r["bucket"] for r in result["audited"]) == [f"b-sweep-{i:02d}" for i in range(12)]
    # Tags are read only where there is a CORS configuration to judge (8 of the 12).
    assert api_calls == Counter({"ListBuckets": 1, "GetBucketCors": 12, "GetBucketTagging": 8})
    assert result["source"] == "schedule"


def test_the_sweep_lists_the_buckets_in_paginated_requests(
    s3: S3Client, invoke_handler: InvokeHandler
) -> None:
    """AWS refuses a ListBuckets without MaxBuckets (an unpaginated one) from an account whose bucket quota
    was raised above 10,000, and serves at most 10,000 a page; moto answers either."""
    for i in range(3):
        make_bucket(s3, f"b-paged-{i}", WILDCARD_WRITE)
    asked = requests(s3, "ListBuckets")

    result = invoke_handler(sweep, load_event("schedule-cors-sweep.json"))

    assert asked == [{"MaxBuckets": 10_000}]
    assert sorted(r["bucket"] for r in result["audited"]) == ["b-paged-0", "b-paged-1", "b-paged-2"]
