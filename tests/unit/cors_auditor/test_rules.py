"""The rule table: each CORS configuration gives exactly the findings and bucket severity the docs list."""

from __future__ import annotations

from typing import Any

import pytest

from cors_auditor.rules import at_least, bucket_severity, evaluate, is_loopback

ALLOW = ("https://app.example.com", "https://admin.example.com")


def rule(origins: list[str], methods: list[str], **extra: Any) -> dict[str, Any]:
    return {"AllowedOrigins": origins, "AllowedMethods": methods, **extra}


def found(configuration: Any, allowed: tuple[str, ...] = ()) -> set[tuple[str, str, int]]:
    return {(f.rule_id, f.severity, f.rule_index) for f in evaluate(configuration, allowed)}


TABLE: list[tuple[str, list[dict[str, Any]], tuple[str, ...], set[tuple[str, str, int]], str]] = [
    ("wildcard + PUT", [rule(["*"], ["GET", "PUT"])], (), {("wildcard-origin-write", "HIGH", 0)}, "HIGH"),
    ("wildcard + POST", [rule(["*"], ["POST"])], (), {("wildcard-origin-write", "HIGH", 0)}, "HIGH"),
    ("wildcard + DELETE", [rule(["*"], ["DELETE"])], (), {("wildcard-origin-write", "HIGH", 0)}, "HIGH"),
    ("wildcard + GET", [rule(["*"], ["GET"])], (), {("wildcard-origin-read", "MEDIUM", 0)}, "MEDIUM"),
    (
        "wildcard + GET/HEAD",
        [rule(["*"], ["GET", "HEAD"])],
        (),
        {("wildcard-origin-read", "MEDIUM", 0)},
        "MEDIUM",
    ),
    ("lower-case method", [rule(["*"], ["put"])], (), {("wildcard-origin-write", "HIGH", 0)}, "HIGH"),
    ("good https", [rule(["https://app.example.com"], ["GET", "PUT"])], (), set(), "NONE"),
    ("allowlisted", [rule(["https://app.example.com"], ["PUT"])], ALLOW, set(), "NONE"),
    (
        "outside allowlist + write",
        [rule(["https://evil.example.net"], ["PUT"])],
        ALLOW,
        {("disallowed-origin-write", "HIGH", 0)},
        "HIGH",
    ),
    (
        "outside allowlist read",
        [rule(["https://evil.example.net"], ["GET"])],
        ALLOW,
        {("disallowed-origin", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "wildcard wins over allowlist",
        [rule(["*"], ["GET"])],
        ALLOW,
        {("wildcard-origin-read", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "partial wildcard",
        [rule(["https://*.example.com"], ["GET"])],
        (),
        {("partial-wildcard-origin", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "partial wildcard outside allowlist, write",
        [rule(["https://*.example.com"], ["PUT"])],
        ALLOW,
        {("disallowed-origin-write", "HIGH", 0)},
        "HIGH",
    ),
    ("null origin", [rule(["null"], ["GET"])], (), {("null-origin", "MEDIUM", 0)}, "MEDIUM"),
    (
        "http origin",
        [rule(["http://app.example.com"], ["GET"])],
        (),
        {("insecure-origin", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "schemeless origin",
        [rule(["app.example.com"], ["GET"])],
        (),
        {("insecure-origin", "MEDIUM", 0)},
        "MEDIUM",
    ),
    ("localhost", [rule(["http://localhost:3000"], ["GET"])], (), {("localhost-origin", "LOW", 0)}, "LOW"),
    ("https localhost", [rule(["https://localhost"], ["PUT"])], (), {("localhost-origin", "LOW", 0)}, "LOW"),
    ("loopback v4", [rule(["http://127.0.0.1:8080"], ["GET"])], (), {("localhost-origin", "LOW", 0)}, "LOW"),
    ("loopback v6", [rule(["http://[::1]:8080"], ["GET"])], (), {("localhost-origin", "LOW", 0)}, "LOW"),
    (
        "localhost outside allowlist",
        [rule(["http://localhost:3000"], ["PUT"])],
        ALLOW,
        {("disallowed-origin-write", "HIGH", 0)},
        "HIGH",
    ),
    (
        "headers * with write",
        [rule(["https://app.example.com"], ["PUT"], AllowedHeaders=["*"])],
        (),
        {("wildcard-headers-write", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "headers * read only",
        [rule(["https://app.example.com"], ["GET"], AllowedHeaders=["*"])],
        (),
        set(),
        "NONE",
    ),
    (
        "all five methods",
        [rule(["https://app.example.com"], ["GET", "HEAD", "PUT", "POST", "DELETE"])],
        (),
        {("all-methods", "MEDIUM", 0)},
        "MEDIUM",
    ),
    (
        "kms key id exposed",
        [
            rule(
                ["https://app.example.com"],
                ["GET"],
                ExposeHeaders=["ETag", "x-amz-server-side-encryption-aws-kms-key-id"],
            )
        ],
        (),
        {("sensitive-expose-headers", "LOW", 0)},
        "LOW",
    ),
    (
        "ETag exposed",
        [rule(["https://app.example.com"], ["GET"], ExposeHeaders=["ETag", "x-amz-request-id"])],
        (),
        set(),
        "NONE",
    ),
    (
        "max age above a day",
        [rule(["https://app.example.com"], ["GET"], MaxAgeSeconds=86401)],
        (),
        {("long-max-age", "LOW", 0)},
        "LOW",
    ),
    (
        "max age of a day",
        [rule(["https://app.example.com"], ["GET"], MaxAgeSeconds=86400)],
        (),
        set(),
        "NONE",
    ),
    (
        "everything wrong at once",
        [
            rule(
                ["*", "null", "http://localhost"],
                ["GET", "HEAD", "PUT", "POST", "DELETE"],
                AllowedHeaders=["*"],
                ExposeHeaders=["x-amz-server-side-encryption-context"],
                MaxAgeSeconds=604800,
            )
        ],
        (),
        {
            ("wildcard-origin-write", "HIGH", 0),
            ("null-origin", "MEDIUM", 0),
            ("localhost-origin", "LOW", 0),
            ("wildcard-headers-write", "MEDIUM", 0),
            ("all-methods", "MEDIUM", 0),
            ("sensitive-expose-headers", "LOW", 0),
            ("long-max-age", "LOW", 0),
        },
        "HIGH",
    ),
    (
        "rule index is the rule's position",
        [
            rule(["https://app.example.com"], ["GET"]),
            rule(["http://localhost"], ["GET"]),
            rule(["*"], ["PUT"]),
        ],
        (),
        {("localhost-origin", "LOW", 1), ("wildcard-origin-write", "HIGH", 2)},
        "HIGH",
    ),
    ("no rules", [], (), set(), "NONE"),
]


@pytest.mark.parametrize(
    ("rules", "allowed", "expected", "severity"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_rule_table(
    rules: list[dict[str, Any]], allowed: tuple[str, ...], expected: set[Any], severity: str
) -> None:
    configuration = {"CORSRules": rules}
    assert found(configuration, allowed) == expected
    assert bucket_severity(evaluate(configuration, allowed)) == severity


def test_each_finding_has_a_readable_detail() -> None:
    (finding,) = evaluate({"CORSRules": [rule(["*"], ["GET", "PUT"])]})
    assert finding.to_dict() == {
        "rule_id": "wildcard-origin-write",
        "severity": "HIGH",
        "rule_index": 0,
        "detail": "origin '*' may GET,PUT",
    }


def test_a_duplicated_origin_is_reported_once() -> None:
    assert len(evaluate({"CORSRules": [rule(["*", "*"], ["GET"])]})) == 1


def test_a_bare_rule_list_is_accepted() -> None:
    assert found([rule(["*"], ["GET"])]) == {("wildcard-origin-read", "MEDIUM", 0)}


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        7,
        "CORSRules",
        {},
        {"CORSRules": None},
        {"CORSRules": "x"},
        {"CORSRules": [None, 3, "rule"]},
        {"CORSRules": [{"AllowedOrigins": "*", "AllowedMethods": "PUT"}]},
        {"CORSRules": [{"AllowedOrigins": [None, 5], "AllowedMethods": [1], "MaxAgeSeconds": "9999999"}]},
        {"CORSRules": [{"AllowedOrigins": ["http://["], "AllowedMethods": ["GET"], "MaxAgeSeconds": True}]},
    ],
)
def test_malformed_configurations_never_crash(garbage: Any) -> None:
    findings = evaluate(garbage)
    assert bucket_severity(findings) in {"NONE", "LOW", "MEDIUM", "HIGH"}


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://localhost", True),
        ("http://LOCALHOST:8080", True),
        ("http://app.localhost", True),
        ("http://127.0.0.1", True),
        ("http://127.8.9.10:1", True),
        ("http://[::1]", True),
        ("http://localhost.example.com", False),
        ("http://10.0.0.1", False),
        ("https://example.com", False),
        ("http://[", False),
    ],
)
def test_loopback_origins(origin: str, loopback: bool) -> None:
    assert is_loopback(origin) is loopback


def test_severity_threshold() -> None:
    assert at_least("HIGH", "MEDIUM")
    assert at_least("MEDIUM", "MEDIUM")
    assert not at_least("LOW", "MEDIUM")
    assert not at_least("NONE", "LOW")
