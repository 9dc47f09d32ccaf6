"""Finds the variables an SES (Handlebars) template needs, and which of them a request's data lacks.

SES accepts a send whose data lacks a variable and then silently drops the email, so the sender checks
first. No maintained Python Handlebars parser reports variables (pybars3 renders; it doesn't analyse), so
this is a deliberately small one for the subset SES templates use:
`{{name}}`, `{{a.b}}`, `{{{raw}}}`, `{{! comment }}`, `{{#if}}`, `{{#unless}}`, `{{#each}}`, `{{else}}`,
`{{@root.x}}`, `{{this}}`/`{{@index}}` inside `#each`, and `~` whitespace control. Anything else (an unknown
or inline helper, a partial) is a TemplateSyntaxError: better refused than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BLOCK_HELPERS = frozenset({"if", "unless", "each"})
_CONDITIONAL = frozenset({"if", "unless"})

_MUSTACHE = re.compile(r"\{\{\{(?P<raw>.*?)\}\}\}|\{\{(?P<tag>!--.*?--|.*?)\}\}", re.DOTALL)
_PATH = re.compile(r"[\w$-]+(?:\.[\w$-]+)*")
_BLOCK_OPEN = re.compile(r"#\s*(?P<helper>\S+)(?:\s+(?P<args>.*))?", re.DOTALL)


class TemplateSyntaxError(ValueError):
    """The template uses syntax outside the supported subset, or its blocks don't nest."""


@dataclass(frozen=True)
class TemplateVariables:
    required: frozenset[str]  # must be in the data, or SES drops the email
    optional: frozenset[str]  # only used inside #if/#unless (or an #each's else): may be absent


@dataclass
class _Block:
    helper: str
    in_else: bool = False


def template_variables(*sources: str) -> TemplateVariables:
    """The top-level variables (dotted paths) that all of `sources` reference together."""
    required: set[str] = set()
    optional: set[str] = set()
    for source in sources:
        found_required, found_optional = _scan(source)
        required |= found_required
        optional |= found_optional
    return TemplateVariables(frozenset(required), frozenset(optional - required))


def missing_variables(required: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """The required paths that `data` cannot resolve, sorted; present means the key exists (any value)."""
    return sorted(path for path in required if not _resolves(path, data))


def _resolves(path: str, data: Mapping[str, Any]) -> bool:
    current: Any = data
    for segment in path.split("."):
        if not isinstance(current, Mapping) or segment not in current:
            return False
        current = current[segment]
    return True


def _scan(source: str) -> tuple[set[str], set[str]]:
    required: set[str] = set()
    optional: set[str] = set()
    stack: list[_Block] = []

    def reference(path: str, *, force_optional: bool = False) -> None:
        # An #each's else branch renders with the outer data, so only its body is an item scope.
        each_depth = sum(block.helper == "each" and not block.in_else for block in stack)
        top_level = _top_level_path(path, each_depth=each_depth)
        if top_level is None:
            return
        conditional = force_optional or any(b.helper in _CONDITIONAL or b.in_else for b in stack)
        (optional if conditional else required).add(top_level)

    for match in _MUSTACHE.finditer(source):
        raw = match.group("raw")
        tag = (raw if raw is not None else match.group("tag")).strip().strip("~").strip()
        if raw is None and tag.startswith("!"):
            continue  # a comment
        if raw is None and tag.startswith("#"):
            helper, argument = _block_open(tag)
            # #if/#unless tolerate a missing argument; #each needs its list unless it sits inside an #if.
            reference(argument, force_optional=helper in _CONDITIONAL)
            stack.append(_Block(helper))
        elif raw is None and tag.startswith("/"):
            name = tag[1:].strip()
            if not stack or stack[-1].helper != name:
                expected = f"{{{{/{stack[-1].helper}}}}}" if stack else "no closing tag"
                raise TemplateSyntaxError(f"{{{{/{name}}}}} where {expected} was expected")
            stack.pop()
        elif raw is None and tag == "else":
            if not stack or stack[-1].in_else:
                raise TemplateSyntaxError("{{else}} outside an #if, #unless or #each block, or twice")
            stack[-1].in_else = True
        else:
            path = tag[1:].strip() if raw is None and tag.startswith("&") else tag
            if not path or any(ch.isspace() for ch in path) or path[0] in "#/^>":
                head = path.split()[0] if path.split() else "(empty)"
                raise TemplateSyntaxError(f"unsupported helper or expression {{{{{head} ...}}}}")
            reference(path)
    if stack:
        raise TemplateSyntaxError(f"{{{{#{stack[-1].helper}}}}} is never closed")
    return required, optional


def _block_open(tag: str) -> tuple[str, str]:
    match = _BLOCK_OPEN.fullmatch(tag)
    helper = match.group("helper") if match else tag
    if helper not in BLOCK_HELPERS:
        raise TemplateSyntaxError(f"unknown block helper {{{{#{helper}}}}}")
    argument = (match.group("args") or "").strip() if match else ""
    if not argument or any(ch.isspace() for ch in argument):
        raise TemplateSyntaxError(f"{{{{#{helper}}}}} takes exactly one variable, got {argument!r}")
    return helper, argument


def _top_level_path(path: str, each_depth: int) -> str | None:
    """The data path `path` reads from the top-level data, or None if it reads an #each item or @data."""
    if path.startswith("@root."):
        path, each_depth = path.removeprefix("@root."), 0
    elif path.startswith("@"):
        return None  # @index, @key, @first, @last: supplied by #each
    while path.startswith("../"):
        path, each_depth = path[3:], each_depth - 1
    if each_depth < 0:
        raise TemplateSyntaxError("../ climbs above the top-level data")
    if path in {"this", "."}:
        return None
    path = path.removeprefix("this.")
    if not _PATH.fullmatch(path):
        raise TemplateSyntaxError(f"unsupported variable syntax {{{{{path}}}}}")
    return None if each_depth > 0 else path
