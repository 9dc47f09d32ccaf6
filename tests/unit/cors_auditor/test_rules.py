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


@pytest.mark.parametrize(
    ("cors_rule", "detail"),
    [
        (rule(["*"], []), "origin '*' may no methods"),
        (rule(["*"], ["get", "PUT"]), "origin '*' may GET,PUT"),
        (rule(["https://a.example"], ["PUT"], AllowedHeaders=["*"]), "AllowedHeaders '*' with PUT"),
        (
            rule(["https://a.example"], ["GET", "HEAD", "PUT", "POST", "DELETE"]),
            "all five methods are allowed",
        ),
        (rule(["https://a.example"], ["GET"], MaxAgeSeconds=90000), "MaxAgeSeconds 90000 is above 86400"),
        (
            rule(["https://a.example"], ["GET"], ExposeHeaders=["x-amz-server-side-encryption-context", "*"]),
            "ExposeHeaders leaks *, x-amz-server-side-encryption-context",
        ),
    ],
)
def test_each_finding_explains_itself(cors_rule: dict[str, Any], detail: str) -> None:
    details = [f.detail for f in evaluate([cors_rule])]
    assert detail in details
    assert all(details)


def test_a_duplicated_origin_is_reported_once() -> None:
    assert len(evaluate({"CORSRules": [rule(["*", "*"], ["GET"])]})) == 1


def test_a_bare_rule_list_is_accepted() -> None:
    assert found([rule(["*"], ["GET"])]) == {("wildcard-origin-read", "MEDIUM", 0)}


@pytest.mark.parametrize(
    ("garbage", "expected"),
    [
        (None, set()),
        (7, set()),
        ("CORSRules", set()),
        ({}, set()),
        ({"CORSRules": None}, set()),
        ({"CORSRules": "x"}, set()),
        ({"CORSRules": [None, 3, "rule"]}, set()),
        # A bare string where a list belongs is read as a one-item list, not ignored.
        (
            {"CORSRules": [{"AllowedOrigins": "*", "AllowedMethods": "PUT"}]},
            {("wildcard-origin-write", "HIGH", 0)},
        ),
        (
            {"CORSRules": [{"AllowedOrigins": [None, 5], "AllowedMethods": [1], "MaxAgeSeconds": "9999999"}]},
            set(),
        ),
        (
            {
                "CORSRules": [
                    {"AllowedOrigins": ["http://["], "AllowedMethods": ["GET"], "MaxAgeSeconds": True}
                ]
            },
            {("insecure-origin", "MEDIUM", 0)},
        ),
        # A malformed rule between two good ones keeps their positions and findings.
        (
            {"CORSRules": [rule(["null"], ["GET"]), "junk", rule(["*"], ["PUT"])]},
            {("null-origin", "MEDIUM", 0), ("wildcard-origin-write", "HIGH", 2)},
        ),
    ],
)
def test_malformed_configurations_never_crash(garbage: Any, expected: set[tuple[str, str, int]]) -> None:
    assert found(garbage) == expected


SEVERITIES = ["NONE", "LOW", "MEDIUM", "HIGH"]


@pytest.mark.parametrize("threshold", SEVERITIES)
@pytest.mark.parametrize("severity", SEVERITIES)
def test_severity_order_is_total_and_strict(severity: str, threshold: str) -> None:
    # NOTIFY_MIN_SEVERITY=HIGH must not mail a MEDIUM bucket: every level is strictly above the one before.
    assert at_least(severity, threshold) is (SEVERITIES.index(severity) >= SEVERITIES.index(threshold))


@pytest.mark.parametrize(
    ("origins", "severity"),
    [
        (["http://localhost"], "LOW"),
        (["http://localhost", "null"], "MEDIUM"),
        (["null", "http://localhost"], "MEDIUM"),
        (["null", "*"], "HIGH"),
        (["*", "null", "http://localhost"], "HIGH"),
    ],
)
def test_bucket_severity_is_the_highest_whatever_the_order(origins: list[str], severity: str) -> None:
    assert bucket_severity(evaluate([rule(origins, ["PUT"])])) == severity
    assert bucket_severity(evaluate([rule([o], ["PUT"]) for o in reversed(origins)])) == severity


@pytest.mark.parametrize(
    "header",
    [
        "*",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "X-Amz-Server-Side-Encryption-Customer-Key-MD5",
    ],
)
def test_each_sensitive_expose_header_alone_is_a_finding(header: str) -> None:
    (finding,) = evaluate([rule(["https://app.example.com"], ["GET"], ExposeHeaders=["ETag", header])])
    assert (finding.rule_id, finding.severity) == ("sensitive-expose-headers", "LOW")
    assert finding.detail == f"ExposeHeaders leaks {header.lower()}"


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
        # The host is the authority's, never a "localhost" further on in a path, query or fragment.
        ("http://evil.example/?u=http://localhost", False),
        ("http://evil.example/http://127.0.0.1", False),
        ("http://evil.example#@localhost", False),
        ("http://evil.example?u=@localhost", False),
        ("http://evil.example?@127.0.0.1", False),
        # Userinfo (or a backslash) makes the host ambiguous; a real Origin never has one: not loopback.
        ("http://localhost@evil.example", False),
        ("http://user@localhost", False),
        ("http://evil.example\\@localhost", False),
        ("http://localhost:3000/path", True),
        ("http://LocalHost.:3000", True),
        ("http://localhost.", True),
        ("http://127.0.0.1.", True),
        ("HTTP://[::1]:8080", True),
        ("http://[::2]:8080", False),
        ("http://[::1", False),
        ("localhost:3000", True),
        ("localhost.evil.example", False),
        ("http://0.0.0.0", False),
        ("http://", False),
        ("http:///localhost", False),
        ("http://localhost\\.evil.example", False),
    ],
)
def test_loopback_origins(origin: str, loopback: bool) -> None:
    assert is_loopback(origin) is loopback


def test_a_query_that_names_localhost_is_still_an_insecure_origin() -> None:
    assert found([rule(["http://evil.example/?u=http://localhost"], ["GET"])]) == {
        ("insecure-origin", "MEDIUM", 0)
    }
