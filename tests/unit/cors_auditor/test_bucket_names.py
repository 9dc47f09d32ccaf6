"""Which names the auditor will pass to S3: today's rules, legacy us-east-1 names, and what it refuses."""

from __future__ import annotations

import pytest

from cors_auditor.bucket_names import bucket_name_problem
from cors_auditor.report import notification_key
from cors_auditor.rules import FindingRecord


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "groundskeeper-local-uploads",
        "logs.example.com",
        "1bucket-9",
        # Created in us-east-1 before March 2018, still valid there: capitals, underscores, up to 255.
        "My_Legacy_Bucket",
        "Legacy." + "x" * 240,
        "L" * 255,
        # Four dotted numbers are an IP address only when nothing else is in the name.
        "1.2.3.4.5",
        "bucket-10.0.0.1",
    ],
)
def test_names_s3_can_hold_are_audited(name: str) -> None:
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "bad name!",
        "",
        "ab",
        "x" * 256,
        "-starts-with-hyphen",
        "ends-with-dot.",
        "ends-with-hyphen-",
        "_starts_with_underscore",
        "ends_with_underscore_",
        "10.0.0.1",
        "two..dots",
        "192.168.5.4",
        "arn:aws:s3:us-east-1:123456789012:accesspoint/x",
        "bucket/key",
        "caf\u00e9-bucket",
        "tab\tbucket",
        "<script>",
    ],
)
def test_names_s3_would_refuse_are_skipped(name: str) -> None:
    assert bucket_name_problem(name) == "invalid_bucket_name"


@pytest.mark.parametrize("name", ["logs--use1-az4--x-s3", "data--usw2-az1--x-s3"])
def test_directory_buckets_have_their_own_reason(name: str) -> None:
    assert bucket_name_problem(name) == "directory_bucket"


def test_the_longest_legacy_name_still_gives_a_notification_key_the_sender_accepts() -> None:
    # The email sender refuses an idempotency key over 256 characters; the auditor's is a fixed-size digest.
    findings: list[FindingRecord] = [
        {"rule_index": 0, "rule_id": "wildcard-origin", "severity": "HIGH", "detail": "x" * 5000}
    ]
    key = notification_key("L" * 255, "f" * 64, findings)
    assert bucket_name_problem("L" * 255) is None
    assert len(key) <= 64
