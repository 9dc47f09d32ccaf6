"""Splits a template into tokens: Handlebars' jison lexer rules, in its order (first match wins).

The rules apply per start condition (content, mustache, escaped mustache, long comment, raw block), as in
jison. The tokens stream to the parser one by one, as jison's do: no list of them all is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from email_sender.handlebars.deadline import _Deadline
from email_sender.handlebars.errors import TemplateSyntaxError
from email_sender.handlebars.js_values import _JS_WS

_S = f"[{_JS_WS}]"
_ID_CHARS = rf"[^{_JS_WS}!\"#%-,\.\/;->@\[-\^`\{{-~]"
_ID_END = rf"(?=[=~}}{_JS_WS}\/.)|])"
_LIT_END = rf"(?=[~}}{_JS_WS})])"

_MU_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\("), "OPEN_SEXPR"),
    (re.compile(r"\)"), "CLOSE_SEXPR"),
    (re.compile(r"\{\{\{\{"), "OPEN_RAW_BLOCK"),
    (re.compile(r"\}\}\}\}"), "CLOSE_RAW_BLOCK"),
    (re.compile(r"\{\{(~)?>"), "OPEN_PARTIAL"),
    (re.compile(r"\{\{(~)?#>"), "OPEN_PARTIAL_BLOCK"),
    (re.compile(r"\{\{(~)?#\*?"), "OPEN_BLOCK"),
    (re.compile(r"\{\{(~)?\/"), "OPEN_ENDBLOCK"),
    (re.compile(rf"\{{\{{(~)?\^{_S}*(~)?\}}\}}"), "INVERSE"),
    (re.compile(rf"\{{\{{(~)?{_S}*else{_S}*(~)?\}}\}}"), "INVERSE"),
    (re.compile(r"\{\{(~)?\^"), "OPEN_INVERSE"),
    (re.compile(rf"\{{\{{(~)?{_S}*else\b", re.ASCII), "OPEN_INVERSE_CHAIN"),
    (re.compile(r"\{\{(~)?\{"), "OPEN_UNESCAPED"),
    (re.compile(r"\{\{(~)?&"), "OPEN"),
    (re.compile(r"\{\{(~)?!--"), "START_LONG_COMMENT"),
    (re.compile(r"\{\{(~)?![\s\S]*?\}\}"), "COMMENT"),
    (re.compile(r"\{\{(~)?\*?"), "OPEN"),
    (re.compile(r"="), "EQUALS"),
    (re.compile(r"\.\."), "ID"),
    (re.compile(rf"\.{_ID_END}"), "ID"),
    (re.compile(r"[\/.]"), "SEP"),
    (re.compile(rf"{_S}+"), "SKIP"),
    (re.compile(r"\}(~)?\}\}"), "CLOSE_UNESCAPED"),
    (re.compile(r"(~)?\}\}"), "CLOSE"),
    (re.compile(r'"(\\["]|[^"])*"'), "STRING_DQ"),
    (re.compile(r"'(\\[']|[^'])*'"), "STRING_SQ"),
    (re.compile(r"@"), "DATA"),
    (re.compile(rf"true{_LIT_END}"), "BOOLEAN"),
    (re.compile(rf"false{_LIT_END}"), "BOOLEAN"),
    (re.compile(rf"undefined{_LIT_END}"), "UNDEFINED"),
    (re.compile(rf"null{_LIT_END}"), "NULL"),
    (re.compile(rf"-?[0-9]+(?:\.[0-9]+)?{_LIT_END}"), "NUMBER"),
    (re.compile(rf"as{_S}+\|"), "OPEN_BLOCK_PARAMS"),
    (re.compile(r"\|"), "CLOSE_BLOCK_PARAMS"),
    (re.compile(rf"{_ID_CHARS}+{_ID_END}"), "ID"),
    (re.compile(r"\[(\\\]|[^\]])*\]"), "ID_LITERAL"),
]
# Every rule in one pattern, each its own group, in order: the first alternative that matches wins, as the
# first matching rule does in jison, with one match per token instead of one per rule tried.
_MU_PATTERN = re.compile(
    "|".join(f"((?a:{p.pattern}))" if p.flags & re.ASCII else f"({p.pattern})" for p, _ in _MU_RULES)
)


def _rule_groups() -> dict[int, str]:
    """Each rule's group in _MU_PATTERN, a match's lastindex (the rule's group closes after its own ones)."""
    kinds: dict[int, str] = {}
    group = 1
    for pattern, kind in _MU_RULES:
        kinds[group] = kind
        group += 1 + pattern.groups
    return kinds


_MU_KINDS = _rule_groups()
_CONTENT_TO_MUSTACHE = re.compile(r"[^\x00]*?(?=\{\{)")
_CONTENT_REST = re.compile(r"[^\x00]+")
_ESCAPED_CONTENT = re.compile(r"[^\x00]{2,}?(?=\{\{|\\\{\{|\\\\\{\{|\Z)")
_LONG_COMMENT = re.compile(r"[\s\S]*?--(~)?\}\}")
# Inside a raw block {{{{name}}}}...{{{{/name}}}}: a nested {{{{x}}}} opens a level, {{{{/name}}}} closes one.
_RAW_OPEN = re.compile(r"\{\{\{\{(?=[^/])")
_RAW_END = re.compile(rf"\{{\{{\{{\{{/({_ID_CHARS}+)(?=[=}}{_JS_WS}/.])\}}\}}\}}\}}")
_RAW_CONTENT = re.compile(r"[^\x00]+?(?=\{\{\{\{)")
_POPS = frozenset({"INVERSE", "COMMENT", "CLOSE_UNESCAPED", "CLOSE"})


@dataclass(slots=True)
class _Token:
    kind: str
    text: str
    line: int  # where it starts, for error messages


class _Lexer:
    """Handlebars' jison lexer: a stack of start conditions, each with its rules."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.states = ["INITIAL"]
        self.emitted: _Token | None = None  # a step emits at most one token
        # The line at `counted`: each position's line is counted on from the one before, so numbering every
        # token's line scans the source once (counting from the start each time made compiling quadratic).
        self.line = 1
        self.counted = 0

    def stream(self, deadline: _Deadline) -> Iterator[_Token]:
        """The tokens, up to EOF, as the parser takes them."""
        steps = {
            "INITIAL": self.content,
            "emu": self.escaped_content,
            "com": self.long_comment,
            "mu": self.mustache,
            "raw": self.raw_content,
        }
        while True:
            steps[self.states[-1]]()
            token = self.emitted
            if token is not None:
                self.emitted = None
                deadline.step()
                yield token
                if token.kind == "EOF":
                    return

    def line_at(self, pos: int) -> int:
        """The line of `pos`, never before the last one asked about: the lexer only moves on."""
        self.line += self.source.count("\n", self.counted, pos)
        self.counted = pos
        return self.line

    def error(self, what: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"line {self.line_at(self.pos)}: {what}")

    def emit(self, kind: str, text: str, start: int, end: int) -> None:
        self.emitted = _Token(kind, text, self.line_at(start))
        self.pos = end

    def eof(self) -> None:
        """The last token: the stream ends with it."""
        self.emitted = _Token("EOF", "", self.line_at(self.pos))

    def content(self) -> None:
        if self.pos >= len(self.source):
            self.eof()
            return
        match = _CONTENT_TO_MUSTACHE.match(self.source, self.pos)
        if match is None:
            match = _CONTENT_REST.match(self.source, self.pos)
            if match is None:
                raise self.error("unexpected character (NUL)")
            self.emit("CONTENT", match.group(), self.pos, match.end())
            return
        text = match.group()
        if text.endswith("\\\\"):  # \\{{x}}: a literal backslash, then a mustache
            text, state = text[:-1], "mu"
        elif text.endswith("\\"):  # \{{x}}: the mustache is text
            text, state = text[:-1], "emu"
        else:
            state = "mu"
        self.states.append(state)
        if text:
            self.emit("CONTENT", text, self.pos, match.end())
        else:
            self.pos = match.end()

    def escaped_content(self) -> None:
        self.closing_token(_ESCAPED_CONTENT, "CONTENT", "unexpected character after \\{{")

    def long_comment(self) -> None:
        self.closing_token(_LONG_COMMENT, "COMMENT", "{{!-- comment is never closed")

    def closing_token(self, pattern: re.Pattern[str], kind: str, missing: str) -> None:
        """One token that `pattern` must match here, and that ends its start condition (jison's popState)."""
        match = pattern.match(self.source, self.pos)
        if match is None:
            raise self.error(missing)
        self.states.pop()
        self.emit(kind, match.group(), self.pos, match.end())

    def mustache(self) -> None:
        if self.pos >= len(self.source):
            self.eof()
            return
        kind, match = self.match_rule()
        text = match.group()
        if kind == "START_LONG_COMMENT":  # read again from {{ as one comment token
            self.states[-1] = "com"
            return
        if kind in _POPS:
            self.states.pop()
        elif kind == "CLOSE_RAW_BLOCK":  # what follows {{{{name}}}} is text, up to {{{{/name}}}}
            self.states[-1] = "raw"
        if kind == "SKIP":
            self.pos = match.end()
            return
        if kind == "STRING_DQ":
            kind, text = "STRING", text[1:-1].replace('\\"', '"')
        elif kind == "STRING_SQ":
            kind, text = "STRING", text[1:-1].replace("\\'", "'")
        elif kind == "ID_LITERAL":
            kind, text = "ID", re.sub(r"\\([\\\]])", r"\1", text)
        self.emit(kind, text, match.start(), match.end())

    def raw_content(self) -> None:
        """A raw block's text: CONTENT tokens (nested {{{{x}}}}...{{{{/x}}}} included), then END_RAW_BLOCK."""
        if self.pos >= len(self.source):
            self.eof()
            return
        match = _RAW_OPEN.match(self.source, self.pos)
        if match:
            self.states.append("raw")
            self.emit("CONTENT", match.group(), self.pos, match.end())
            return
        match = _RAW_END.match(self.source, self.pos)
        if match:
            self.states.pop()
            if self.states[-1] == "raw":
                self.emit("CONTENT", match.group(), self.pos, match.end())
            else:
                self.emit("END_RAW_BLOCK", match.group(1), self.pos, match.end())
            return
        match = _RAW_CONTENT.match(self.source, self.pos)
        if match is None:
            raise self.error("raw block {{{{...}}}} is never closed")
        self.emit("CONTENT", match.group(), self.pos, match.end())

    def match_rule(self) -> tuple[str, re.Match[str]]:
        match = _MU_PATTERN.match(self.source, self.pos)
        if match is not None and match.lastindex is not None:
            return _MU_KINDS[match.lastindex], match
        raise self.error(f"invalid character {self.source[self.pos]!r}")
