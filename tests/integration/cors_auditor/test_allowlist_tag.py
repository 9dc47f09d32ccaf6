"""The per-bucket allowlist tag under moto: it judges and remediates its bucket, a malformed one is a finding,
and reading it costs one GetBucketTagging per verdict, cached with it (a burst of EventBridge events too)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cors_auditor.handlers import watched_buckets
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import Invoke, InvokeHandler, by_bucket, make_bucket, s3_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TAG = "groundskeeper:cors-allowed-origins"
GLOBAL = ("https://app.example.com",)
PARTNER_WRITE = {
    "CORSRules": [
        {"AllowedOrigins": ["https://partner.example", "https://app.example.com"], "AllowedMethods": ["PUT"]}
    ]
}


def tag(s3: S3Client, bucket: str, value: str) -> None:
    s3.put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "web"}, {"Key": TAG, "Value": value}]}
    )


def rule_ids(report: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in report["findings"]}


def test_the_tag_adds_replaces_or_is_absent(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any]
) -> None:
    use_settings(allowed_origins=GLOBAL)
    for name in ("b-untagged", "b-adds", "b-replaces"):
        make_bucket(s3, name, PARTNER_WRITE)
    tag(s3, "b-adds", "+https://partner.example")
    tag(s3, "b-replaces", "https://partner.example")
    names = ["b-untagged", "b-adds", "b-replaces"]

    reports = by_bucket(invoke({"Records": [s3_event(n, ["k"])["Records"][0] for n in names]}))

    assert rule_ids(reports["b-untagged"]) == {"disallowed-origin-write"}
    assert reports["b-untagged"]["allowlist_source"] == "global"
    assert reports["b-adds"]["status"] == "compliant"
    assert reports["b-adds"]["allowlist_source"] == "tag-added"
    # Replaced: the global origin is no longer allowed on this bucket.
    assert reports["b-replaces"]["findings"][0]["detail"].startswith("origin 'https://app.example.com'")
    assert reports["b-replaces"]["allowlist_source"] == "tag-replaced"


def test_a_malformed_tag_is_a_finding_and_the_global_list_judges(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any]
) -> None:
    use_settings(allowed_origins=GLOBAL)
    make_bucket(s3, "b-malformed", PARTNER_WRITE)
    tag(s3, "b-malformed", "+https://*.partner.example")

    (report,) = invoke(s3_event("b-malformed", ["k"]))["audited"]

    assert rule_ids(report) == {"malformed-allowlist-tag", "disallowed-origin-write"}
    first = report["findings"][0]
    assert (first["rule_id"], first["severity"], first["rule_index"]) == (
        "malformed-allowlist-tag",
        "MEDIUM",
        -1,
    )
    assert report["allowlist_source"] == "tag-malformed"
    assert report["severity"] == "HIGH"


def test_a_malformed_tag_alone_makes_the_bucket_non_compliant(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any]
) -> None:
    use_settings(allowed_origins=GLOBAL)
    make_bucket(
        s3, "b-only-tag", {"CORSRules": [{"AllowedOrigins": list(GLOBAL), "AllowedMethods": ["GET"]}]}
    )
    tag(s3, "b-only-tag", "")

    (report,) = invoke(s3_event("b-only-tag", ["k"]))["audited"]

    assert (report["status"], report["severity"]) == ("non_compliant", "MEDIUM")
    assert rule_ids(report) == {"malformed-allowlist-tag"}


def test_remediation_keeps_what_the_tag_allows(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any]
) -> None:
    use_settings(allowed_origins=GLOBAL, remediation="fix")
    cors = {
        "CORSRules": [
            {
                "AllowedOrigins": [
                    "https://partner.example",
                    "https://evil.example",
                    "https://app.example.com",
                ],
                "AllowedMethods": ["GET", "PUT"],
            }
        ]
    }
    make_bucket(s3, "b-fix", cors)
    tag(s3, "b-fix", "+https://partner.example")

    (report,) = invoke(s3_event("b-fix", ["k"]))["audited"]

    assert report["remediated"] is True
    origins = s3.get_bucket_cors(Bucket="b-fix")["CORSRules"][0]["AllowedOrigins"]
    assert origins == ["https://partner.example", "https://app.example.com"]


def test_unreadable_tags_leave_the_global_list_in_force(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], deny: Callable[[str, str], None]
) -> None:
    use_settings(allowed_origins=GLOBAL)
    make_bucket(s3, "b-tag-denied", PARTNER_WRITE)
    tag(s3, "b-tag-denied", "+https://partner.example")
    deny("GetBucketTagging", "b-tag-denied")

    (report,) = invoke(s3_event("b-tag-denied", ["k"]))["audited"]

    assert report["allowlist_source"] == "tag-unreadable"
    assert rule_ids(report) == {"disallowed-origin-write"}


def test_tags_off_makes_no_tagging_call(
    s3: S3Client, invoke: Invoke, use_settings: Callable[..., Any], api_calls: Counter[str]
) -> None:
    use_settings(allowed_origins=GLOBAL, allowlist_tag_key="")
    make_bucket(s3, "b-no-tags", PARTNER_WRITE)
    tag(s3, "b-no-tags", "+https://partner.example")
    api_calls.clear()

    (report,) = invoke(s3_event("b-no-tags", ["k"]))["audited"]

    assert rule_ids(report) == {"disallowed-origin-write"}
    assert api_calls == Counter({"GetBucketCors": 1})


def eventbridge_event(bucket: str, key: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge-s3-object-created.json"))
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    return event


def test_a_burst_of_eventbridge_events_costs_one_cors_and_one_tag_read_per_bucket(
    s3: S3Client, invoke_handler: InvokeHandler, use_settings: Callable[..., Any], api_calls: Counter[str]
) -> None:
    """WatchedBuckets sends one EventBridge event per object: the verdict cache absorbs the burst."""
    use_settings(allowed_origins=GLOBAL)
    make_bucket(s3, "b-watched-1", PARTNER_WRITE)
    make_bucket(s3, "b-watched-2", PARTNER_WRITE)
    tag(s3, "b-watched-2", "+https://partner.example")
    api_calls.clear()

    events = [eventbridge_event(f"b-watched-{1 + i % 2}", f"obj/{i}.js") for i in range(200)]
    results = [invoke_handler(watched_buckets, event) for event in events]

    assert api_calls == Counter({"GetBucketCors": 2, "GetBucketTagging": 2})
    assert sum(not r["audited"][0]["cached"] for r in results) == 2
    assert {r["audited"][0]["bucket"]: r["audited"][0]["status"] for r in results} == {
        "b-watched-1": "non_compliant",
        "b-watched-2": "compliant",
    }
    assert {r["source"] for r in results} == {"eventbridge"}
