"""Remediation plans: only offending origins are rewritten; good rules stay; nothing left means delete."""

from __future__ import annotations

from typing import Any

import pytest

from cors_auditor.remediation import _matches, plan_remediation

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


# --- a removed wildcard must not hand its origins to a later rule that exposes more ----------------------


def test_a_removed_wildcard_keeps_the_origins_a_later_rule_would_expose_more_to() -> None:
    first = rule(["*"], ["GET"], ExposeHeaders=["ETag"])
    second = rule(["https://b.example.com"], ["GET"], ExposeHeaders=["ETag", "x-amz-meta-owner"])
    third = rule(["https://a.example.com"], ["GET", "PUT"], ExposeHeaders=["x-amz-version-id"])
    plan = plan_remediation({"CORSRules": [first, second, third]})
    # Both origins were answered by the first rule; removing "*" would send them on to wider rules.
    assert plan.rules == [
        {**first, "AllowedOrigins": ["https://b.example.com", "https://a.example.com"]},
        second,
        third,
    ]
    assert (plan.rewritten, plan.dropped) == ((0,), ())


@pytest.mark.parametrize(
    "later",
    [
        rule(["https://b.example.com"], ["GET"], ExposeHeaders=["etag"]),  # the same headers, any case
        rule(["https://b.example.com"], ["GET"]),  # fewer headers
        rule(["https://b.example.com"], ["PUT"], ExposeHeaders=["x-amz-meta-owner"]),  # no shared method
    ],
    ids=["same-headers", "fewer-headers", "other-methods"],
)
def test_a_removed_wildcard_is_dropped_when_no_later_rule_exposes_more(later: dict[str, Any]) -> None:
    plan = plan_remediation({"CORSRules": [rule(["*"], ["GET"], ExposeHeaders=["ETag"]), later]})
    assert (plan.action, plan.rules, plan.dropped) == ("put", [later], (0,))


def test_a_wildcard_that_exposed_everything_exposes_no_less_than_any_later_rule() -> None:
    later = rule(["https://b.example.com"], ["GET"], ExposeHeaders=["x-amz-meta-owner"])
    plan = plan_remediation({"CORSRules": [rule(["*"], ["GET"], ExposeHeaders=["*"]), later]})
    assert (plan.rules, plan.dropped) == ([later], (0,))


def test_a_wildcard_pattern_in_the_allowlist_is_never_put_in_place_of_a_removed_wildcard() -> None:
    plan = plan_remediation(
        {"CORSRules": [rule(["*"], ["GET"])]}, ("https://app.example.com", "https://*.example.com")
    )
    assert plan.rules == [rule(["https://app.example.com"], ["GET"])]


@pytest.mark.parametrize(
    "useless",
    [rule(["https://app.example.com"], []), rule([], ["GET"]), rule(["https://app.example.com"], ["FETCH"])],
    ids=["no-methods", "no-origins", "unknown-method"],
)
def test_a_rule_that_serves_no_request_is_dropped(useless: dict[str, Any]) -> None:
    good = rule(["https://app.example.com"], ["GET"])
    plan = plan_remediation({"CORSRules": [useless, good]})
    assert (plan.action, plan.rules, plan.dropped) == ("put", [good], (0,))


def test_s3_wildcards_match_any_characters_even_a_line_break() -> None:
    assert _matches("https://*.example.com", "https://a\nb.example.com")
    assert _matches("*", "anything")
    assert not _matches("https://*.example.com", "https://example.com")
    assert not _matches("https://app.example.com", "https://APP.example.com")


def test_an_allowlisted_origin_stays_in_place_of_a_removed_wildcard_even_if_not_https() -> None:
    # The allowlist decides what is acceptable: an http origin on it is not judged insecure here.
    allow = ("http://intranet.example.com", "https://app.example.com")
    plan = plan_remediation({"CORSRules": [rule(["*"], ["GET"])]}, allow)
    assert plan.rules == [rule(list(allow), ["GET"])]
