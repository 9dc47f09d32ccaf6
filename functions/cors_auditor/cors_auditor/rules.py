"""The CORS rules: pure functions from a bucket's CORS configuration to findings (no AWS in here)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

SEVERITY_RANK = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})
ALL_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})
MAX_AGE_LIMIT = 86400
# Response headers that tell a foreign page how an object is protected (the KMS key, its context).
SENSITIVE_EXPOSE_HEADERS = frozenset(
    {
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "x-amz-server-side-encryption-customer-key-md5",
        "*",
    }
)

# Origin findings that remediation rewrites; the rest is reported only (see docs/cors-auditor.md).
REWRITTEN_ORIGIN_RULES = frozenset(
    {
        "wildcard-origin-write",
        "wildcard-origin-read",
        "disallowed-origin-write",
        "disallowed-origin",
        "partial-wildcard-origin",
        "null-origin",
        "insecure-origin",
    }
)


class FindingRecord(TypedDict):
    """A finding as it appears in the report, the logs and the email."""

    rule_id: str
    severity: str
    rule_index: int
    detail: str


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    rule_index: int
    detail: str

    def to_dict(self) -> FindingRecord:
        return FindingRecord(
            rule_id=self.rule_id, severity=self.severity, rule_index=self.rule_index, detail=self.detail
        )


def strings(value: Any) -> list[str]:
    """The string items of a CORS rule field; anything malformed counts as absent, never as a crash."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def is_loopback(origin: str) -> bool:
    """True when the origin's host is localhost (or a name under it) or a loopback IP address.

    The host is the authority's, which ends at the first "/", "?" or "#": `http://evil.example/?u=http://localhost`
    is evil.example. An authority with userinfo is ambiguous (browsers read `http://evil.example\\@localhost`
    as evil.example, urlsplit as localhost) and a real Origin header never has one: it is never loopback.
    """
    try:
        authority = urlsplit(origin if "://" in origin else f"//{origin}")
        host = authority.hostname
    except ValueError:  # an unbalanced IPv6 bracket
        return False
    if host is None or "@" in authority.netloc:
        return False
    host = host.removesuffix(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_finding(origin: str, writes: bool, allowed_origins: Sequence[str]) -> tuple[str, str] | None:
    """(rule_id, severity) of the one finding an origin earns, most serious first; None when it is fine."""
    found: tuple[str, str] | None = None
    if origin == "*":
        found = ("wildcard-origin-write", "HIGH") if writes else ("wildcard-origin-read", "MEDIUM")
    elif allowed_origins:
        # With an allowlist it alone decides: listed origins are fine, anything else is disallowed.
        if origin not in allowed_origins:
            found = ("disallowed-origin-write", "HIGH") if writes else ("disallowed-origin", "MEDIUM")
    elif "*" in origin:
        found = ("partial-wildcard-origin", "MEDIUM")
    elif origin.strip().lower() == "null":
        found = ("null-origin", "MEDIUM")
    elif is_loopback(origin):
        found = ("localhost-origin", "LOW")
    elif not origin.lower().startswith("https://"):
        found = ("insecure-origin", "MEDIUM")
    return found


def offends(origin: str, allowed_origins: Sequence[str]) -> bool:
    """True when remediation must take this origin out of its rule, whatever the rule's methods: the
    findings that depend on them (a wildcard, an origin outside the allowlist) are rewritten either way."""
    found = origin_finding(origin, False, allowed_origins)
    return found is not None and found[0] in REWRITTEN_ORIGIN_RULES


def methods_of(rule: Mapping[str, Any]) -> set[str]:
    return {method.upper() for method in strings(rule.get("AllowedMethods"))}


def _rule_findings(index: int, rule: Mapping[str, Any], allowed_origins: Sequence[str]) -> list[Finding]:
    methods = methods_of(rule)
    writes = bool(methods & WRITE_METHODS)
    verbs = ",".join(sorted(methods)) or "no methods"
    findings: list[Finding] = []
    for origin in dict.fromkeys(strings(rule.get("AllowedOrigins"))):
        found = origin_finding(origin, writes, allowed_origins)
        if found:
            rule_id, severity = found
            findings.append(Finding(rule_id, severity, index, f"origin {origin!r} may {verbs}"))
    if writes and "*" in strings(rule.get("AllowedHeaders")):
        findings.append(
            Finding("wildcard-headers-write", "MEDIUM", index, f"AllowedHeaders '*' with {verbs}")
        )
    if methods >= ALL_METHODS:
        findings.append(Finding("all-methods", "MEDIUM", index, "all five methods are allowed"))
    leaked = sorted({h.lower() for h in strings(rule.get("ExposeHeaders"))} & SENSITIVE_EXPOSE_HEADERS)
    if leaked:
        findings.append(
            Finding("sensitive-expose-headers", "LOW", index, f"ExposeHeaders leaks {', '.join(leaked)}")
        )
    max_age = rule.get("MaxAgeSeconds")
    if isinstance(max_age, int) and not isinstance(max_age, bool) and max_age > MAX_AGE_LIMIT:
        findings.append(
            Finding("long-max-age", "LOW", index, f"MaxAgeSeconds {max_age} is above {MAX_AGE_LIMIT}")
        )
    return findings


def cors_rules(configuration: Any) -> list[Any]:
    """The CORSRules list of a configuration ({"CORSRules": [...]}) or of a bare list of rules."""
    if isinstance(configuration, Mapping):
        configuration = configuration.get("CORSRules")
    return list(configuration) if isinstance(configuration, list | tuple) else []


def evaluate(configuration: Any, allowed_origins: Sequence[str] = ()) -> list[Finding]:
    """Every finding of a CORS configuration, in rule order."""
    findings: list[Finding] = []
    for index, rule in enumerate(cors_rules(configuration)):
        if isinstance(rule, Mapping):
            findings.extend(_rule_findings(index, rule, allowed_origins))
    return findings


def bucket_severity(findings: Iterable[Finding]) -> str:
    """The highest severity among the findings, or NONE."""
    return max((f.severity for f in findings), key=SEVERITY_RANK.__getitem__, default="NONE")


def at_least(severity: str, threshold: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]
