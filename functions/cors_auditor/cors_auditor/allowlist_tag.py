"""A bucket's own allowlist, from its `groundskeeper:cors-allowed-origins` tag (pure: no AWS in here).

The tag's value is space-separated origins. A value that starts with `+` adds its origins to the global
ALLOWED_ORIGINS for that bucket; any other value replaces the global list for that bucket. A value that is
not a usable list (empty, an origin that is not scheme://host[:port], a wildcard, too many origins) earns
the bucket a `malformed-allowlist-tag` finding, and the global list applies (docs/cors-auditor.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cors_auditor.rules import Finding

DEFAULT_TAG_KEY = "groundskeeper:cors-allowed-origins"
MALFORMED_TAG_RULE = "malformed-allowlist-tag"
# The finding is about the bucket's tag, not about one of its CORS rules.
TAG_RULE_INDEX = -1
ADD_PREFIX = "+"
# S3 takes tag values up to 256 characters; a longer one can only come from a caller that is not S3.
MAX_TAG_VALUE_CHARS = 256
# An allowlist that long is a list of everything, which is what an allowlist exists to prevent.
MAX_TAG_ORIGINS = 20
_SHOWN_CHARS = 60


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an exact origin (what a browser sends in the Origin header), or None.

    scheme://host[:port] and nothing more: a path would never match, and a wildcard would turn the allowlist
    into "anything goes"."""
    scheme, sep, host = origin.partition("://")
    if "*" in origin:
        return "has a wildcard"
    if not sep or not scheme or not host or "/" in host or any(c.isspace() for c in origin):
        return "is not an exact origin like https://app.example.com"
    return None


@dataclass(frozen=True)
class Allowlist:
    """The allowlist that judges one bucket, where it came from, and the tag's finding when it was malformed.

    source: global (no tag) | tag-added | tag-replaced | tag-malformed | tag-unreadable."""

    origins: tuple[str, ...]
    source: str = "global"
    finding: Finding | None = None


def _malformed(global_origins: Sequence[str], tag_key: str, problem: str) -> Allowlist:
    detail = f"tag {tag_key}: {problem}; the global allowlist applies"
    finding = Finding(MALFORMED_TAG_RULE, "MEDIUM", TAG_RULE_INDEX, detail)
    return Allowlist(tuple(global_origins), "tag-malformed", finding)


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


def _value_problem(tag_value: str, origins: Sequence[str]) -> str | None:
    if len(tag_value) > MAX_TAG_VALUE_CHARS:
        return f"{len(tag_value)} characters, at most {MAX_TAG_VALUE_CHARS}"
    if not origins:
        return "no origin in the value"
    if len(origins) > MAX_TAG_ORIGINS:
        return f"{len(origins)} origins, at most {MAX_TAG_ORIGINS}"
    for origin in origins:
        problem = origin_problem(origin)
        if problem is not None:
            return f"{_shown(origin)} {problem}"
    return None


def effective_allowlist(
    tag_value: str | None, global_origins: Sequence[str], tag_key: str = DEFAULT_TAG_KEY
) -> Allowlist:
    """The allowlist for a bucket whose tag holds `tag_value` (None: the bucket has no such tag)."""
    if tag_value is None:
        return Allowlist(tuple(global_origins))
    text = tag_value.strip()
    adds = text.startswith(ADD_PREFIX)
    origins = list(dict.fromkeys(text.removeprefix(ADD_PREFIX).split()))
    problem = _value_problem(tag_value, origins)
    if problem is not None:
        return _malformed(global_origins, tag_key, problem)
    if adds:
        return Allowlist(tuple(dict.fromkeys([*global_origins, *origins])), "tag-added")
    return Allowlist(tuple(origins), "tag-replaced")
