"""Remediation plans: only offending origins are rewritten; good rules stay; nothing left means delete."""

from __future__ import annotations

from typing import Any

from cors_auditor.remediation import plan_remediation

ALLOW = ("https://app.example.com",)


def rule(origins: list[str], methods: list[str], **extra: Any) -> dict[str, Any]:
    return {"AllowedOrigins": origins, "AllowedMethods": methods, **extra}


def test_a_compliant_configuration_needs_nothing() -> None:
    plan = plan_remediation({"CORSRules": [rule(["https://app.example.com"], ["GET"])]}, ALLOW)
    assert plan.action == "none"
    assert not plan.changes


def test_wildcard_is_replaced_by_the_allowlist_and_other_fields_are_kept() -> None:
    bad = rule(["*"], ["GET", "PUT"], ID="upload", AllowedHeaders=["*"], MaxAgeSeconds=600)
    good = rule(["https://app.example.com"], ["GET"], ExposeHeaders=["ETag"])
    plan = plan_remediation({"CORSRules": [good, bad]}, ALLOW)
    assert plan.action == "put"
    assert plan.rewritten == (1,)
    assert plan.rules == [good, {**bad, "AllowedOrigins": ["https://app.example.com"]}]


def test_a_disallowed_origin_is_removed_and_never_swapped_for_the_allowlist() -> None:
    # Swapping evil.example.net for the allowlist would let admin.example.com PUT, which it could not before.
    plan = plan_remediation(
        {"CORSRules": [rule(["https://app.example.com", "https://evil.example.net"], ["PUT"])]},
        (*ALLOW, "https://admin.example.com"),
    )
    assert plan.rules[0]["AllowedOrigins"] == ["https://app.example.com"]


def test_without_an_allowlist_offending_origins_are_removed_and_empty_rules_dropped() -> None:
    configuration = {
        "CORSRules": [
            rule(["*"], ["GET"]),
            rule(["null", "https://app.example.com", "http://app.example.com"], ["GET"]),
            rule(["https://*.example.com"], ["PUT"]),
        ]
    }
    plan = plan_remediation(configuration)
    assert plan.action == "put"
    assert plan.rules == [rule(["https://app.example.com"], ["GET"])]
    assert plan.rewritten == (1,)
    assert plan.dropped == (0, 2)


def test_no_rule_left_means_delete() -> None:
    plan = plan_remediation({"CORSRules": [rule(["*"], ["PUT"]), rule(["null"], ["GET"])]})
    assert plan.action == "delete"
    assert plan.rules == []


def test_report_only_findings_are_never_rewritten() -> None:
    # localhost (LOW), AllowedHeaders *, all methods, MaxAge and ExposeHeaders are reported, not fixed.
    configuration = {
        "CORSRules": [
            rule(
                ["http://localhost:3000", "https://app.example.com"],
                ["GET", "HEAD", "PUT", "POST", "DELETE"],
                AllowedHeaders=["*"],
                ExposeHeaders=["x-amz-server-side-encryption-aws-kms-key-id"],
                MaxAgeSeconds=999999,
            )
        ]
    }
    assert plan_remediation(configuration).action == "none"


def test_localhost_outside_an_allowlist_is_disallowed_and_removed() -> None:
    plan = plan_remediation({"CORSRules": [rule(["http://localhost:3000"], ["GET"])]}, ALLOW)
    assert (plan.action, plan.rules, plan.dropped) == ("delete", [], (0,))


def test_a_malformed_rule_in_the_middle_is_dropped_and_the_scan_goes_on() -> None:
    first = rule(["https://app.example.com"], ["GET"])
    last = rule(["*"], ["PUT"], ID="upload")
    plan = plan_remediation({"CORSRules": [first, "junk", None, last]}, ALLOW)
    assert plan.action == "put"
    assert plan.rules == [first, {**last, "AllowedOrigins": ["https://app.example.com"]}]
    assert (plan.rewritten, plan.dropped) == ((3,), (1, 2))


def test_a_malformed_rule_alone_among_good_ones_is_still_removed() -> None:
    good = [rule(["https://app.example.com"], ["GET"]), rule(["https://admin.example.com"], ["PUT"])]
    plan = plan_remediation({"CORSRules": [good[0], 7, good[1]]})
    assert (plan.action, plan.rules, plan.rewritten, plan.dropped) == ("put", good, (), (1,))


def test_fields_put_bucket_cors_would_refuse_are_left_out_of_a_rewritten_rule() -> None:
    bad = rule(["*"], ["GET"], ID="r", Other="x", ExposeHeaders=["ETag"])
    plan = plan_remediation({"CORSRules": [bad]}, ALLOW)
    assert plan.rules == [rule(["https://app.example.com"], ["GET"], ID="r", ExposeHeaders=["ETag"])]
