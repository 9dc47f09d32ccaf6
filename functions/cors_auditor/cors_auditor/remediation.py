"""Plans a remediation (pure): which origins to rewrite, and the CORSRules that remain afterwards."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cors_auditor.rules import ALL_METHODS, cors_rules, methods_of, offends, strings

# The only fields put_bucket_cors accepts in a rule; anything else would fail botocore's validation.
RULE_FIELDS = ("ID", "AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders", "MaxAgeSeconds")


@dataclass(frozen=True)
class Plan:
    """What to do with a bucket's CORS: nothing, put `rules`, or delete the configuration (no rule left)."""

    action: str  # "none" | "put" | "delete"
    rules: list[dict[str, Any]] = field(default_factory=list)
    rewritten: tuple[int, ...] = ()  # indexes (in the original rules) of the rules that changed
    dropped: tuple[int, ...] = ()  # indexes of the rules removed because no origin was left

    @property
    def changes(self) -> bool:
        return self.action != "none"


def _clean(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {name: rule[name] for name in RULE_FIELDS if name in rule}


def _matches(pattern: str, origin: str) -> bool:
    """S3's origin match: case-sensitive, each `*` standing for any run of characters."""
    if "*" not in pattern:
        return pattern == origin
    body = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(body, origin, re.DOTALL) is not None


def _exposes_no_more(rule: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    wider = {h.lower() for h in strings(rule.get("ExposeHeaders"))}
    narrower = {h.lower() for h in strings(than.get("ExposeHeaders"))}
    return "*" in narrower or wider <= narrower


def _falls_through_wider(origin: str, rule: Mapping[str, Any], later: Sequence[Mapping[str, Any]]) -> bool:
    """Would `origin`'s requests, no longer caught by `rule`, reach a later rule that exposes more headers?"""
    methods = methods_of(rule)
    return any(
        methods & methods_of(other)
        and any(_matches(pattern, origin) for pattern in strings(other.get("AllowedOrigins")))
        and not _exposes_no_more(other, rule)
        for other in later
    )


def _narrowed(
    removed: Sequence[str],
    rule: Mapping[str, Any],
    later: Sequence[Mapping[str, Any]],
    allowed_origins: Sequence[str],
) -> list[str]:
    """The origins a removed wildcard keeps serving in its own rule, so that no origin gains by its removal.

    With an allowlist: the allowlisted origins the wildcard matched (their access stays exactly as it was).
    Without one: an origin that a later rule grants, only when dropping the wildcard would hand that origin's
    requests to the later rule and so expose more headers than before (S3 applies the first matching rule).
    """
    if allowed_origins:
        candidates = [o for o in allowed_origins if "*" not in o]
    else:
        granted = (strings(other.get("AllowedOrigins")) for other in later)
        candidates = [o for o in dict.fromkeys(o for origins in granted for o in origins) if "*" not in o]
        candidates = [o for o in candidates if _falls_through_wider(o, rule, later)]
    return [
        origin
        for origin in candidates
        if any(_matches(pattern, origin) for pattern in removed) and not offends(origin, allowed_origins)
    ]


def _serves_anything(rule: Mapping[str, Any]) -> bool:
    # A rule with no origin or no method matches no request, and put_bucket_cors would refuse it.
    return bool(strings(rule.get("AllowedOrigins")) and methods_of(rule) & ALL_METHODS)


def plan_remediation(configuration: Any, allowed_origins: Sequence[str] = ()) -> Plan:
    """Take offending origins out of their rules; keep good rules as is; never give an origin more access.

    Origins are only removed. A removed wildcard may leave behind, in its own rule, origins it matched (see
    `_narrowed`), never an origin its rule could not already serve. The rules are planned from the last to
    the first, so each one knows what the rules after it will still grant.
    """
    rules = cors_rules(configuration)
    planned: list[dict[str, Any]] = []  # the rules after the current one, last first
    rewritten: list[int] = []
    dropped: list[int] = []
    for index in reversed(range(len(rules))):
        rule = rules[index]
        if not isinstance(rule, Mapping) or not _serves_anything(rule):
            dropped.append(index)
            continue
        origins = strings(rule.get("AllowedOrigins"))
        removed = [origin for origin in origins if offends(origin, allowed_origins)]
        if not removed:
            planned.append(_clean(rule))
            continue
        good = [origin for origin in origins if origin not in removed]
        later = planned[::-1]
        new_origins = list(dict.fromkeys([*good, *_narrowed(removed, rule, later, allowed_origins)]))
        if new_origins:
            rewritten.append(index)
            planned.append({**_clean(rule), "AllowedOrigins": new_origins})
        else:
            dropped.append(index)
    kept = planned[::-1]
    if not rewritten and not dropped:
        return Plan("none", kept)
    return Plan("put" if kept else "delete", kept, tuple(sorted(rewritten)), tuple(sorted(dropped)))
