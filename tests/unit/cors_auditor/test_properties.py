"""Property tests over random CORS configurations: the rules never crash, severity is monotone, and
remediation always produces a valid CORSRules list without an offending origin."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cors_auditor.event_sources import (
    targets_from_cors_change,
    targets_from_object_created,
    targets_from_s3_notification,
)
from cors_auditor.remediation import RULE_FIELDS, plan_remediation
from cors_auditor.rules import (
    ALL_METHODS,
    REWRITTEN_ORIGIN_RULES,
    SEVERITY_RANK,
    WRITE_METHODS,
    bucket_severity,
    cors_rules,
    evaluate,
)

SEVERITY_ORDER = ["NONE", "LOW", "MEDIUM", "HIGH"]

ORIGINS = st.one_of(
    st.sampled_from(
        [
            "*",
            "null",
            "https://app.example.com",
            "https://admin.example.com",
            "https://evil.example.net",
            "https://*.example.com",
            "http://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1",
            "http://[::1]:8080",
            "app.example.com",
        ]
    ),
    st.text(max_size=30),
)
METHODS = st.lists(st.sampled_from(sorted(ALL_METHODS)), min_size=1, max_size=5, unique=True)
ALLOWLISTS = st.lists(
    st.sampled_from(["https://app.example.com", "https://admin.example.com", "https://shop.example.org"]),
    max_size=3,
    unique=True,
).map(tuple)


@st.composite
def cors_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "AllowedOrigins": draw(st.lists(ORIGINS, min_size=1, max_size=4)),
        "AllowedMethods": draw(METHODS),
    }
    if draw(st.booleans()):
        rule["ID"] = draw(st.text(max_size=10))
    if draw(st.booleans()):
        rule["AllowedHeaders"] = draw(
            st.lists(st.sampled_from(["*", "Content-Type", "Authorization"]), max_size=3)
        )
    if draw(st.booleans()):
        rule["ExposeHeaders"] = draw(
            st.lists(
                st.sampled_from(["ETag", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-request-id"])
            )
        )
    if draw(st.booleans()):
        rule["MaxAgeSeconds"] = draw(st.integers(min_value=0, max_value=10**7))
    return rule


CONFIGURATIONS = st.lists(cors_rule(), max_size=100).map(lambda rules: {"CORSRules": rules})
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=4)
    ),
    max_leaves=30,
)
RULE_KEYS = st.sampled_from([*RULE_FIELDS, "Other"])
LOOSE_RULES = st.dictionaries(RULE_KEYS, JSON, max_size=6)
LOOSE = st.one_of(JSON, st.lists(LOOSE_RULES, max_size=5).map(lambda rules: {"CORSRules": rules}))


@settings(max_examples=500, deadline=None)
@given(configuration=LOOSE, allowed=ALLOWLISTS)
def test_rules_and_remediation_never_crash_on_any_json(configuration: Any, allowed: tuple[str, ...]) -> None:
    findings = evaluate(configuration, allowed)
    levels = [SEVERITY_ORDER.index(f.severity) for f in findings]
    assert bucket_severity(findings) == SEVERITY_ORDER[max(levels, default=0)]
    assert 0 not in levels  # a finding is never of severity NONE
    rules = cors_rules(configuration)
    assert {f.rule_index for f in findings} <= {i for i, rule in enumerate(rules) if isinstance(rule, dict)}

    plan = plan_remediation(configuration, allowed)
    # Every rule is accounted for exactly once: kept as is, rewritten, or dropped (malformed or emptied).
    assert not set(plan.rewritten) & set(plan.dropped)
    assert {i for i, rule in enumerate(rules) if not isinstance(rule, dict)} <= set(plan.dropped)
    assert len(plan.rules) == len(rules) - len(plan.dropped)
    assert all(set(rule) <= set(RULE_FIELDS) for rule in plan.rules)
    assert plan.action == (
        "none" if not plan.rewritten and not plan.dropped else "put" if plan.rules else "delete"
    )


@settings(max_examples=500, deadline=None)
@given(configuration=CONFIGURATIONS, allowed=ALLOWLISTS, data=st.data())
def test_adding_a_write_method_never_lowers_severity(
    configuration: dict[str, Any], allowed: tuple[str, ...], data: st.DataObject
) -> None:
    rules = configuration["CORSRules"]
    if not rules:
        return
    index = data.draw(st.integers(min_value=0, max_value=len(rules) - 1))
    method = data.draw(st.sampled_from(sorted(WRITE_METHODS)))
    before = bucket_severity(evaluate(configuration, allowed))
    widened = [dict(rule) for rule in rules]
    widened[index]["AllowedMethods"] = sorted({*widened[index]["AllowedMethods"], method})
    after = bucket_severity(evaluate({"CORSRules": widened}, allowed))
    assert SEVERITY_RANK[after] >= SEVERITY_RANK[before]


@settings(max_examples=500, deadline=None)
@given(configuration=CONFIGURATIONS, allowed=ALLOWLISTS)
def test_remediation_gives_a_valid_configuration_without_offending_origins(
    configuration: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    plan = plan_remediation(configuration, allowed)
    assert len(plan.rules) <= 100
    for rule in plan.rules:
        assert set(rule) <= set(RULE_FIELDS)
        assert rule["AllowedOrigins"] and all(isinstance(o, str) for o in rule["AllowedOrigins"])
        assert rule["AllowedMethods"] and set(rule["AllowedMethods"]) <= ALL_METHODS
    after = evaluate({"CORSRules": plan.rules}, allowed)
    assert not [f for f in after if f.rule_id in REWRITTEN_ORIGIN_RULES]
    before = bucket_severity(evaluate(configuration, allowed))
    assert SEVERITY_RANK[bucket_severity(after)] <= SEVERITY_RANK[before]
    assert (plan.action == "delete") == (plan.changes and not plan.rules)
    # A remediated configuration needs no second pass.
    assert not plan_remediation({"CORSRules": plan.rules}, allowed).changes


@settings(max_examples=300, deadline=None)
@given(configuration=CONFIGURATIONS, allowed=ALLOWLISTS)
def test_remediation_keeps_good_rules_as_they_are(
    configuration: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    plan = plan_remediation(configuration, allowed)
    # plan.rules keeps the order of the rules that were not dropped, so each lines up with its original.
    survivors = [i for i in range(len(configuration["CORSRules"])) if i not in plan.dropped]
    assert len(survivors) == len(plan.rules)
    for index, rule in zip(survivors, plan.rules, strict=True):
        if index not in plan.rewritten:
            assert rule == configuration["CORSRules"][index]
    for index in plan.rewritten:
        original = configuration["CORSRules"][index]
        changed = {k: v for k, v in original.items() if k != "AllowedOrigins"}
        assert any({k: v for k, v in rule.items() if k != "AllowedOrigins"} == changed for rule in plan.rules)


@settings(max_examples=300, deadline=None)
@given(
    parse=st.sampled_from(
        [targets_from_s3_notification, targets_from_object_created, targets_from_cors_change]
    ),
    event=st.one_of(
        JSON,
        st.lists(JSON, max_size=4).map(lambda records: {"Records": records}),
        st.dictionaries(st.sampled_from(["detail-type", "detail", "source"]), JSON),
    ),
)
def test_event_parsing_never_crashes(parse: Any, event: Any) -> None:
    targets = parse(event)
    # Nothing vanishes silently: every event gives a bucket to audit, or a logged skip.
    assert targets.buckets or targets.skipped
    assert not targets.sweep
    if not isinstance(event, dict):
        assert (targets.skipped, targets.buckets) == (1, {})
    assert all(isinstance(bucket, str) and bucket for bucket in targets.buckets)
    assert all(target.records >= 1 for target in targets.buckets.values())
