"""Plans a remediation (pure): which origins to rewrite, and the CORSRules that remain afterwards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cors_auditor.rules import WRITE_METHODS, cors_rules, methods_of, offends, strings

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


def plan_remediation(configuration: Any, allowed_origins: Sequence[str] = ()) -> Plan:
    """Swap offending origins for the allowlist (or remove them, without one); keep good rules as is."""
    kept: list[dict[str, Any]] = []
    rewritten: list[int] = []
    dropped: list[int] = []
    for index, rule in enumerate(cors_rules(configuration)):
        if not isinstance(rule, Mapping):
            dropped.append(index)
            continue
        writes = bool(methods_of(rule) & WRITE_METHODS)
        origins = strings(rule.get("AllowedOrigins"))
        good = [origin for origin in origins if not offends(origin, writes, allowed_origins)]
        if len(good) == len(origins):
            kept.append(_clean(rule))
            continue
        new_origins = list(dict.fromkeys([*good, *allowed_origins]))
        if new_origins:
            rewritten.append(index)
            kept.append({**_clean(rule), "AllowedOrigins": new_origins})
        else:
            dropped.append(index)
    if not rewritten and not dropped:
        return Plan("none", kept)
    return Plan("put" if kept else "delete", kept, tuple(rewritten), tuple(dropped))
