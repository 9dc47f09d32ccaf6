"""Remediation never widens access, checked against a reference evaluator of S3's CORS semantics.

S3 answers a cross-origin request (origin O, method M, requested headers H) with the FIRST CORSRule, in
order, whose AllowedOrigins match O, whose AllowedMethods contain M and whose AllowedHeaders match every
header of H; that rule's ExposeHeaders are what the page may read. No rule matching means no access.
Origins match case-sensitively (a browser sends scheme and host in lower case), each `*` standing for any
run of characters; header names match case-insensitively, with `*` the same wildcard.

The invariant: for every request, if the remediated configuration grants it then the original granted it,
and the remediated response exposes no header the original response did not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cors_auditor.remediation import plan_remediation
from cors_auditor.restore import saved_configurations
from cors_auditor.rules import ALL_METHODS, REWRITTEN_ORIGIN_RULES, evaluate

# ---- the reference evaluator ----


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _rules(configuration: Any) -> list[Any]:
    if isinstance(configuration, Mapping):
        configuration = configuration.get("CORSRules")
    return list(configuration) if isinstance(configuration, list | tuple) else []


def first_rule(
    configuration: Any, origin: str, method: str, headers: Iterable[str]
) -> Mapping[str, Any] | None:
    """The rule S3 would apply to this request, or None when the request is refused."""
    for rule in _rules(configuration):
        if not isinstance(rule, Mapping):
            continue  # S3 would never have stored it; it serves nothing
        if not any(_glob(p, False).fullmatch(origin) for p in _texts(rule.get("AllowedOrigins"))):
            continue
        if method not in {m.upper() for m in _texts(rule.get("AllowedMethods"))}:
            continue
        allowed = _texts(rule.get("AllowedHeaders"))
        if all(any(_glob(p, True).fullmatch(h) for p in allowed) for h in headers):
            return rule
    return None


def exposed(rule: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(h.lower() for h in _texts(rule.get("ExposeHeaders")))


def _within(after: frozenset[str], before: frozenset[str]) -> bool:
    return "*" in before or after <= before


def _instances(pattern: str) -> set[str]:
    """A few concrete strings a pattern matches (itself when it has no wildcard)."""
    return {pattern.replace("*", fill) for fill in ("", "x", "evil.example.net", "app")}


HEADER_PROBES = ("content-type", "authorization", "x-amz-meta-a", "x-custom")


def probes(before: Any, after: Any, allowed: Sequence[str]) -> tuple[set[str], list[tuple[str, ...]]]:
    """Origins and header sets worth asking about: every origin either configuration names, instantiated."""
    origins: set[str] = set(allowed) | {"https://app.example.com", "https://evil.example.net", "null"}
    headers: set[str] = set(HEADER_PROBES)
    for configuration in (before, after):
        for rule in _rules(configuration):
            if isinstance(rule, Mapping):
                for pattern in _texts(rule.get("AllowedOrigins")):
                    origins |= _instances(pattern)
                for pattern in _texts(rule.get("AllowedHeaders")):
                    headers |= {h.lower() for h in _instances(pattern) if h}
    sets: list[tuple[str, ...]] = [(), *((h,) for h in sorted(headers))]
    return origins, sets


def widenings(before: Any, after: Any, allowed: Sequence[str] = ()) -> list[str]:
    """Every request the remediated configuration answers more generously than the original did."""
    found: list[str] = []
    origins, header_sets = probes(before, after, allowed)
    for origin in sorted(origins):
        for method in sorted(ALL_METHODS):
            for headers in header_sets:
                now = first_rule(after, origin, method, headers)
                if now is None:
                    continue
                was = first_rule(before, origin, method, headers)
                if was is None:
                    found.append(f"{origin} may now {method} with {list(headers)}")
                elif not _within(exposed(now), exposed(was)):
                    found.append(
                        f"{origin} {method} {list(headers)} now reads {sorted(exposed(now) - exposed(was))}"
                    )
    return found


def origin_findings(configuration: Any, allowed: Sequence[str]) -> list[str]:
    return [f.rule_id for f in evaluate(configuration, allowed) if f.rule_id in REWRITTEN_ORIGIN_RULES]


# ---- configurations ----

ORIGINS = st.sampled_from(
    [
        "*",
        "null",
        "https://app.example.com",
        "https://admin.example.com",
        "https://shop.example.org",
        "https://evil.example.net",
        "https://*.example.com",
        "https://app.*",
        "http://*",
        "http://app.example.com",
        "http://legacy.example.com",
        "http://localhost:3000",
        "https://APP.example.com",
    ]
)
ALLOWLISTS = st.lists(
    st.sampled_from(["https://app.example.com", "https://admin.example.com", "https://shop.example.org"]),
    max_size=3,
    unique=True,
).map(tuple)
HEADERS = st.sampled_from(["*", "Content-Type", "authorization", "x-amz-*", "X-Custom"])
EXPOSE = st.sampled_from(["ETag", "etag", "x-amz-request-id", "x-amz-meta-a", "*"])


@st.composite
def cors_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "AllowedOrigins": draw(st.lists(ORIGINS, min_size=1, max_size=3)),
        "AllowedMethods": draw(
            st.lists(st.sampled_from(sorted(ALL_METHODS)), min_size=1, max_size=5, unique=True)
        ),
    }
    if draw(st.booleans()):
        rule["AllowedHeaders"] = draw(st.lists(HEADERS, max_size=3))
    if draw(st.booleans()):
        rule["ExposeHeaders"] = draw(st.lists(EXPOSE, max_size=3))
    if draw(st.booleans()):
        rule["ID"] = draw(st.sampled_from(["a", "b", "upload"]))
    return rule


CONFIGURATIONS = st.lists(cors_rule(), max_size=6).map(lambda rules: {"CORSRules": rules})
MALFORMED_RULES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.dictionaries(
        st.sampled_from(["AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders", "Junk"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.one_of(ORIGINS, st.integers()))),
        max_size=4,
    ),
)
MIXED = st.lists(st.one_of(cors_rule(), MALFORMED_RULES), max_size=6).map(lambda rules: {"CORSRules": rules})

# The configuration of the report that found remediation widening access: with an allowlist of app alone,
# app.example.com could afterwards PUT and DELETE with any header.
LEGACY = {
    "CORSRules": [
        {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]},
        {
            "AllowedOrigins": ["http://legacy.example.com"],
            "AllowedMethods": ["PUT", "DELETE"],
            "AllowedHeaders": ["*"],
        },
    ]
}


# ---- the invariant ----


def check_invariant(configuration: Any, allowed: tuple[str, ...]) -> None:
    plan = plan_remediation(configuration, allowed)
    after = {"CORSRules": plan.rules}
    assert widenings(configuration, after, allowed) == []
    assert origin_findings(after, allowed) == []
    # A remediated configuration is a fixed point, and restoring brings back exactly what was there.
    assert not plan_remediation(after, allowed).changes
    report = {"bucket": "b", "remediated": True, "previous_configuration": configuration}
    assert saved_configurations({"audited": [report]}) == {"b": _rules(configuration)}


def test_the_reported_case_no_longer_lets_the_allowlisted_origin_write() -> None:
    plan = plan_remediation(LEGACY, ("https://app.example.com",))
    assert plan.rules == [LEGACY["CORSRules"][0]]
    assert first_rule({"CORSRules": plan.rules}, "https://app.example.com", "PUT", ()) is None
    assert widenings(LEGACY, {"CORSRules": plan.rules}, ("https://app.example.com",)) == []


def test_a_disallowed_origin_is_removed_never_swapped_for_the_allowlist() -> None:
    configuration = {
        "CORSRules": [{"AllowedOrigins": ["https://evil.example.net"], "AllowedMethods": ["PUT"]}]
    }
    plan = plan_remediation(configuration, ("https://app.example.com",))
    assert (plan.action, plan.rules, plan.dropped) == ("delete", [], (0,))


def test_a_wildcard_is_narrowed_to_the_allowlisted_origins_it_matched_only() -> None:
    rule = {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"], "ID": "w"}
    plan = plan_remediation({"CORSRules": [rule]}, ("https://app.example.com", "https://shop.example.org"))
    assert plan.rules == [{**rule, "AllowedOrigins": ["https://app.example.com"]}]


def test_dropping_a_wildcard_never_uncovers_a_later_rule_that_exposes_more() -> None:
    # Before, https://app.example.com's GET is answered by the first rule, which exposes nothing; dropping
    # the wildcard alone would hand that GET to the second rule, which exposes ETag.
    configuration = {
        "CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
            {
                "AllowedOrigins": ["https://app.example.com"],
                "AllowedMethods": ["GET"],
                "ExposeHeaders": ["ETag"],
            },
        ]
    }
    plan = plan_remediation(configuration)
    assert widenings(configuration, {"CORSRules": plan.rules}) == []
    assert plan.rules[0] == {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}


@settings(max_examples=400, deadline=None)
@given(configuration=CONFIGURATIONS, allowed=ALLOWLISTS)
@example(configuration=LEGACY, allowed=("https://app.example.com",))
def test_remediation_never_widens_access(configuration: dict[str, Any], allowed: tuple[str, ...]) -> None:
    check_invariant(configuration, allowed)


@settings(max_examples=200, deadline=None)
@given(configuration=CONFIGURATIONS)
def test_remediation_without_an_allowlist_never_widens_access(configuration: dict[str, Any]) -> None:
    check_invariant(configuration, ())


@settings(max_examples=300, deadline=None)
@given(configuration=MIXED, allowed=ALLOWLISTS)
def test_malformed_rules_never_crash_and_never_widen(
    configuration: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    check_invariant(configuration, allowed)
