"""The uploads entry point under moto: every status, URL-encoded keys, bursts, the cache, metrics and logs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import (
    GOOD,
    WILDCARD_WRITE,
    Invoke,
    by_bucket,
    make_bucket,
    s3_event,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_every_status(s3: S3Client, invoke: Invoke, deny: Callable[[str, str], None]) -> None:
    make_bucket(s3, "b-compliant", GOOD)
    make_bucket(s3, "b-no-cors")
    make_bucket(s3, "b-bad", WILDCARD_WRITE)
    make_bucket(s3, "b-denied", WILDCARD_WRITE)
    deny("GetBucketCors", "b-denied")
    names = ["b-compliant", "b-no-cors", "b-bad", "b-missing", "b-denied"]
    event = {"Records": [s3_event(name, ["k"])["Records"][0] for name in names]}

    result = invoke(event)

    assert result["skipped"] == 0
    assert [r["bucket"] for r in result["audited"]] == names
    reports = by_bucket(result)
    assert {name: reports[name]["status"] for name in names} == {
        "b-compliant": "compliant",
        "b-no-cors": "no_cors",
        "b-bad": "non_compliant",
        "b-missing": "missing",
        "b-denied": "access_denied",
    }
    assert reports["b-bad"]["severity"] == "HIGH"
    assert {f["rule_id"] for f in reports["b-bad"]["findings"]} == {
        "wildcard-origin-write",
        "wildcard-headers-write",
    }
    for finding in reports["b-bad"]["findings"]:
        assert set(finding) == {"rule_id", "severity", "rule_index", "detail"}
    for name in ("b-compliant", "b-no-cors", "b-missing", "b-denied"):
        assert reports[name]["severity"] == "NONE"
        assert reports[name]["findings"] == []
    assert not any(r["remediated"] for r in result["audited"])
    json.dumps(result)  # the contract is JSON: sam local invoke prints it


def test_access_denied_has_a_clear_log_line(
    s3: S3Client, invoke: Invoke, deny: Callable[[str, str], None], caplog: pytest.LogCaptureFixture
) -> None:
    make_bucket(s3, "b-denied", GOOD)
    deny("GetBucketCors", "b-denied")
    invoke(s3_event("b-denied", ["k"]))
    (denied,) = [r for r in caplog.records if getattr(r, "error_code", None) == "AccessDenied"]
    assert denied.levelname == "WARNING"
    assert denied.bucket == "b-denied"  # type: ignore[attr-defined]
    assert "s3:GetBucketCORS" in denied.getMessage()


def test_other_errors_propagate(s3: S3Client, invoke: Invoke) -> None:
    from tests.integration.cors_auditor.conftest import s3_error

    make_bucket(s3, "b-odd", GOOD)
    s3.meta.events.register("before-send.s3.GetBucketCors", lambda **_: s3_error("InvalidToken", 400))
    with pytest.raises(ClientError, match="InvalidToken"):
        invoke(s3_event("b-odd", ["k"]))


def test_url_encoded_keys_are_decoded(s3: S3Client, invoke: Invoke) -> None:
    make_bucket(s3, "groundskeeper-local-uploads", GOOD)
    result = invoke(load_event("s3-object-created.json"))
    (report,) = result["audited"]
    assert report["trigger_key"] == "reports/q3 summary 2026.csv"
    assert report["status"] == "compliant"


def test_a_test_event_is_skipped(invoke: Invoke, api_calls: Counter[str]) -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "groundskeeper-local-uploads"}
    assert invoke(event) == {
        "audited": [],
        "skipped": 1,
        "skip_reasons": {"s3_test_event": 1},
        "source": "s3",
    }
    assert api_calls == Counter()


def test_burst_of_1000_records_over_10_invocations_costs_one_get_bucket_cors(
    s3: S3Client, invoke: Invoke, api_calls: Counter[str]
) -> None:
    make_bucket(s3, "b-burst", WILDCARD_WRITE)
    api_calls.clear()
    results = [
        invoke(s3_event("b-burst", [f"batch{b}/object+{i}.csv" for i in range(100)])) for b in range(10)
    ]

    # The bucket's allowlist tag is read once, with its CORS, and cached in the same verdict.
    assert api_calls == Counter({"GetBucketCors": 1, "GetBucketTagging": 1})
    assert [r["audited"][0]["cached"] for r in results] == [False] + [True] * 9
    assert all(r["audited"][0]["status"] == "non_compliant" for r in results)
    assert all(r["audited"][0]["records"] == 100 for r in results)


def test_cache_expires_after_audit_cache_seconds(
    s3: S3Client, invoke: Invoke, api_calls: Counter[str], use_settings: Callable[..., Any]
) -> None:
    make_bucket(s3, "b-ttl", GOOD)
    use_settings(audit_cache_seconds=0)
    api_calls.clear()
    invoke(s3_event("b-ttl", ["a"]))
    invoke(s3_event("b-ttl", ["b"]))
    assert api_calls["GetBucketCors"] == 2


def test_emf_metrics_are_published(s3: S3Client, invoke: Invoke, capsys: pytest.CaptureFixture[str]) -> None:
    make_bucket(s3, "b-metrics", WILDCARD_WRITE)
    invoke(s3_event("b-metrics", ["k"]))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (blob,) = [e for e in emf if "BucketsAudited" in e]
    # Powertools writes each EMF value as a list of data points.
    assert {name: sum(blob[name]) for name in ("BucketsAudited", "FindingsHigh", "FindingsMedium")} == {
        "BucketsAudited": 1.0,
        "FindingsHigh": 1.0,
        "FindingsMedium": 1.0,
    }
    assert "FindingsLow" not in blob


def test_one_log_line_per_bucket(s3: S3Client, invoke: Invoke, caplog: pytest.LogCaptureFixture) -> None:
    make_bucket(s3, "b-log", WILDCARD_WRITE)
    invoke(s3_event("b-log", ["a", "b", "c"]))
    (verdict,) = [r.__dict__ for r in caplog.records if r.getMessage() == "bucket audited"]
    assert verdict["bucket"] == "b-log"
    assert verdict["records"] == 3
    assert verdict["severity"] == "HIGH"
