"""Renders SES (Handlebars 4) templates locally, as Handlebars.js does in strict mode, escaped per part.

Why a renderer of our own: SES accepts a send whose data cannot render and then drops the email silently, and
it never escapes data in the HTML part. Rendering here makes both visible: a render that fails is refused with
its reason before anything is sent, and the HTML part is escaped by construction (see docs/email-sender.md).

The behaviour is Handlebars.js 4.7's, `compile(source, {strict: true})`, checked case by case against it
(tests/oracle): its lexer rules, grammar, standalone-line and `~` whitespace rules, strict lookups (a missing
mustache variable fails; a helper argument such as `{{#if missing}}` does not), truthiness, JavaScript's
number and array formatting, `../` depths, `@data`, block parameters and inline partials. Supported helpers:
`if`, `unless`, `each`, `with`, `lookup`, `log`. Anything outside that subset (partial blocks, dynamic
partials, decorators other than `*inline`, raw blocks) is a TemplateSyntaxError naming the construct.

A template is compiled once per distinct source text (`compile_template` is cached) and rendered per request.
Stdlib only: it runs in Lambda on every send.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "Escaping",
    "MissingVariableError",
    "Template",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "compile_template",
    "escape_html",
]


class TemplateSyntaxError(ValueError):
    """The template cannot be compiled: bad syntax, or a construct outside the supported subset."""


class TemplateRenderError(ValueError):
    """The template cannot be rendered with this data (Handlebars.js in strict mode throws too)."""


class MissingVariableError(TemplateRenderError):
    """A variable that the render reaches is not in the data (or a path walks through a missing value)."""


class Escaping(enum.Enum):
    NONE = "none"  # subject and text parts: values as plain text, never entities
    HTML = "html"  # HTML parts: every value escaped as Handlebars does, {{{x}}} and {{& x}} included


# ---------------------------------------------------------------------------------------------------------
# JavaScript values. JSON data maps onto JS values one to one, except that JS has `undefined` too.


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


class _NullContext(dict[str, Any]):
    """Handlebars' `container.nullContext`: the `this` a helper gets when the context is null/undefined."""

    __slots__ = ()


NULL_CONTEXT: Any = _NullContext()

# Properties that every JS object has through its prototype: `name in obj` is true for them, and Handlebars'
# prototype-access rules then resolve them to undefined.
_OBJECT_PROTO = frozenset(
    {
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "__proto__",
        "toLocaleString",
    }
)
_ARRAY_PROTO = _OBJECT_PROTO | frozenset(
    {
        "length",
        "at",
        "concat",
        "copyWithin",
        "entries",
        "every",
        "fill",
        "filter",
        "find",
        "findIndex",
        "findLast",
        "findLastIndex",
        "flat",
        "flatMap",
        "forEach",
        "includes",
        "indexOf",
        "join",
        "keys",
        "lastIndexOf",
        "map",
        "pop",
        "push",
        "reduce",
        "reduceRight",
        "reverse",
        "shift",
        "slice",
        "some",
        "sort",
        "splice",
        "toReversed",
        "toSorted",
        "toSpliced",
        "unshift",
        "values",
        "with",
    }
)
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE_CHARS = re.compile("[&<>\"'`=]")


def escape_html(text: str) -> str:
    """Handlebars' escapeExpression on a string: & < > " ' ` = become entities."""
    return _ESCAPE_CHARS.sub(lambda m: _ESCAPES[m.group()], text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict | list)


def js_number(value: float) -> str:
    """ECMAScript Number::toString."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.d1..dk x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def js_string(value: Any) -> str:
    """JavaScript's String(value) for JSON values, with null and undefined as "" (how Handlebars appends)."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return js_number(value)
    if isinstance(value, list):
        return ",".join(js_string(item) for item in value)
    return "[object Object]"


def _property_key(value: Any) -> str:
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return js_string(value)


def _truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return bool(value != 0 and not math.isnan(value))  # NaN and 0 are falsy
    if isinstance(value, str):
        return value != ""
    return True


def _is_empty(value: Any) -> bool:
    """Handlebars' Utils.isEmpty: falsy but not 0, or an empty array."""
    if isinstance(value, list):
        return not value
    return not _truthy(value) and not (_is_number(value) and value == 0)


def _utf16_units(text: str) -> list[str]:
    units: list[str] = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units += [chr(0xD800 + (code >> 10)), chr(0xDC00 + (code & 0x3FF))]
        else:
            units.append(char)
    return units


def _own(parent: Any, name: str) -> tuple[bool, Any]:
    """(True, parent[name]) when `name` is an own property of `parent`, else (False, undefined)."""
    if isinstance(parent, dict):
        return (True, parent[name]) if name in parent else (False, UNDEFINED)
    if isinstance(parent, list | str):
        items: list[Any] | list[str] = parent if isinstance(parent, list) else _utf16_units(parent)
        if name == "length":
            return True, len(items)
        if _ARRAY_INDEX.fullmatch(name) and int(name) < len(items):
            return True, items[int(name)]
    return False, UNDEFINED


def _lookup(parent: Any, name: str) -> Any:
    """Handlebars' container.lookupProperty (own properties only); reading from null/undefined throws."""
    if parent is None or parent is UNDEFINED:
        raise MissingVariableError(f"Cannot read properties of {js_string_repr(parent)} (reading '{name}')")
    return _own(parent, name)[1]


def _strict(parent: Any, name: str) -> Any:
    """Handlebars' container.strict: the property must exist (`name in parent`), else the render fails."""
    if not _truthy(parent):
        raise MissingVariableError(f'"{name}" not defined in {js_string_repr(parent)}')
    if not _is_object(parent):
        raise MissingVariableError(f"Cannot use 'in' operator to search for '{name}' in {js_string(parent)}")
    present, value = _own(parent, name)
    inherited = _ARRAY_PROTO if isinstance(parent, list) else _OBJECT_PROTO
    if not present and name not in inherited:
        raise MissingVariableError(f'"{name}" not defined in {js_string_repr(parent)}')
    return value


def js_string_repr(value: Any) -> str:
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return js_string(value)


_JS_NUMBER = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def _to_number(value: Any) -> float:
    """JavaScript's ToNumber for JSON values."""
    if value is None or isinstance(value, bool) or _is_number(value):
        return float(value or 0)
    if isinstance(value, str):
        return _string_to_number(value.strip(_JS_WS_CHARS))
    return math.nan


def _string_to_number(text: str) -> float:
    if not text:
        return 0.0
    if _JS_NUMBER.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    bases = {"0x": 16, "0o": 8, "0b": 2}
    base = bases.get(text[:2].lower())
    if base is None:
        return math.nan
    try:
        return float(int(text[2:], base))
    except ValueError:
        return math.nan


_JS_WS_CHARS = (
    "".join(
        chr(c) for c in [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F]
    )
    + "\u205f\u3000\ufeff"
)


def _loose_equal(a: Any, b: Any) -> bool:
    """JavaScript's `a == b` for JSON values."""
    a_nullish, b_nullish = a is None or a is UNDEFINED, b is None or b is UNDEFINED
    if a_nullish or b_nullish:
        return a_nullish and b_nullish
    if _is_object(a) and _is_object(b):
        return a is b
    if _is_object(a):
        return _loose_equal(js_string(a), b)
    if _is_object(b):
        return _loose_equal(a, js_string(b))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return _to_number(a) == _to_number(b)


def _object_keys(obj: dict[str, Any]) -> list[str]:
    """Object.keys order: array-index keys ascending, then the others in insertion order."""
    indexes = [k for k in obj if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1]
    indexes.sort(key=int)
    index_set = set(indexes)
    return indexes + [k for k in obj if k not in index_set]


# ---------------------------------------------------------------------------------------------------------
# Lexer: the rules of Handlebars' jison lexer, in its order (first match wins), per start condition.

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
_CONTENT_TO_MUSTACHE = re.compile(r"[^\x00]*?(?=\{\{)")
_CONTENT_REST = re.compile(r"[^\x00]+")
_ESCAPED_CONTENT = re.compile(r"[^\x00]{2,}?(?=\{\{|\\\{\{|\\\\\{\{|\Z)")
_LONG_COMMENT = re.compile(r"[\s\S]*?--(~)?\}\}")
_POPS = frozenset({"INVERSE", "COMMENT", "CLOSE_UNESCAPED", "CLOSE"})


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _line_of(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


class _Lexer:
    """Handlebars' jison lexer: a stack of start conditions, each with its rules."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.states = ["INITIAL"]
        self.tokens: list[_Token] = []

    def tokenize(self) -> list[_Token]:
        steps = {
            "INITIAL": self.content,
            "emu": self.escaped_content,
            "com": self.long_comment,
            "mu": self.mustache,
        }
        while not self.tokens or self.tokens[-1].kind != "EOF":
            steps[self.states[-1]]()
        return self.tokens

    def error(self, what: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"line {_line_of(self.source, self.pos)}: {what}")

    def emit(self, kind: str, text: str, start: int, end: int) -> None:
        self.tokens.append(_Token(kind, text, start))
        self.pos = end

    def content(self) -> None:
        if self.pos >= len(self.source):
            self.emit("EOF", "", self.pos, self.pos)
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
            self.emit("EOF", "", self.pos, self.pos)
            return
        kind, match = self.match_rule()
        text = match.group()
        if kind == "START_LONG_COMMENT":  # read again from {{ as one comment token
            self.states[-1] = "com"
            return
        if kind == "OPEN_RAW_BLOCK":
            raise self.error("raw blocks {{{{...}}}} are not supported")
        if kind in _POPS:
            self.states.pop()
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

    def match_rule(self) -> tuple[str, re.Match[str]]:
        for pattern, kind in _MU_RULES:
            match = pattern.match(self.source, self.pos)
            if match:
                return kind, match
        raise self.error(f"invalid character {self.source[self.pos]!r}")


# ---------------------------------------------------------------------------------------------------------
# Parser: Handlebars' grammar (handlebars.yy) as recursive descent, building its AST shapes.


@dataclass
class _Path:
    data: bool
    depth: int
    parts: list[str]
    original: str


@dataclass
class _Literal:
    kind: str  # "string", "number", "boolean", "undefined", "null"
    value: Any
    original: Any


@dataclass
class _SubExpr:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None


@dataclass
class _Program:
    body: list[Any]
    block_params: list[str] | None = None
    chained: bool = False


@dataclass
class _Content:
    original: str
    value: str
    right_stripped: bool = False
    left_stripped: bool = False


@dataclass
class _Comment:
    strip: dict[str, bool]


@dataclass
class _Mustache:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    escaped: bool
    decorator: bool
    strip: dict[str, bool]
    line: int


@dataclass
class _Block:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    program: _Program | None
    inverse: _Program | None
    open_strip: dict[str, bool]
    inverse_strip: dict[str, bool] | None
    close_strip: dict[str, bool] | None
    decorator: bool
    line: int


@dataclass
class _OpenTag:
    token: _Token
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    block_params: list[str] | None
    strip: dict[str, bool]


@dataclass
class _Partial:
    name: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    strip: dict[str, bool]
    line: int
    indent: str = ""


def _strip_flags(open_text: str, close_text: str) -> dict[str, bool]:
    return {
        "open": len(open_text) > 2 and open_text[2] == "~",
        "close": len(close_text) >= 3 and close_text[-3] == "~",
    }


def _id(token: str) -> str:
    return token[1:-1] if re.fullmatch(r"\[[^\n\r\u2028\u2029]*\]", token) else token


_PARAM_START = frozenset({"ID", "DATA", "STRING", "NUMBER", "BOOLEAN", "UNDEFINED", "NULL", "OPEN_SEXPR"})


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _Lexer(source).tokenize()
        self.i = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self, *kinds: str) -> _Token:
        token = self.peek()
        if token.kind not in kinds:
            raise self.error(token, f"expected {' or '.join(kinds)}")
        self.i += 1
        return token

    def error(self, token: _Token, what: str) -> TemplateSyntaxError:
        got = "end of template" if token.kind == "EOF" else repr(token.text)
        return TemplateSyntaxError(f"line {_line_of(self.source, token.pos)}: {what}, got {got}")

    def parse(self) -> _Program:
        program = self.program()
        token = self.peek()
        if token.kind != "EOF":
            raise self.error(token, "unexpected tag outside any block")
        return program

    def program(self) -> _Program:
        body: list[Any] = []
        while True:
            token = self.peek()
            kind = token.kind
            if kind == "CONTENT":
                self.i += 1
                body.append(_Content(token.text, token.text))
            elif kind == "COMMENT":
                self.i += 1
                body.append(_Comment(_strip_flags(token.text, token.text)))
            elif kind in ("OPEN", "OPEN_UNESCAPED"):
                body.append(self.mustache())
            elif kind in ("OPEN_BLOCK", "OPEN_INVERSE"):
                body.append(self.block())
            elif kind == "OPEN_PARTIAL":
                body.append(self.partial())
            elif kind == "OPEN_PARTIAL_BLOCK":
                raise self.error(token, "partial blocks {{#> ...}} are not supported")
            else:
                return _Program(body)

    def mustache(self) -> _Mustache:
        open_token = self.take("OPEN", "OPEN_UNESCAPED")
        path, params, hash_ = self.call()
        close = self.take("CLOSE_UNESCAPED" if open_token.kind == "OPEN_UNESCAPED" else "CLOSE")
        flag = open_token.text[3:4] or open_token.text[2:3]
        return _Mustache(
            path,
            params,
            hash_,
            escaped=flag not in ("{", "&"),
            decorator="*" in open_token.text,
            strip=_strip_flags(open_token.text, close.text),
            line=_line_of(self.source, open_token.pos),
        )

    def call(self) -> tuple[Any, list[Any], list[tuple[str, Any]] | None]:
        path = self.helper_name()
        params: list[Any] = []
        while self.peek().kind in _PARAM_START and not self.at_hash():
            params.append(self.param())
        hash_: list[tuple[str, Any]] | None = None
        if self.at_hash():
            hash_ = []
            while self.at_hash():
                key = _id(self.take("ID").text)
                self.take("EQUALS")
                hash_.append((key, self.param()))
        return path, params, hash_

    def at_hash(self) -> bool:
        return self.peek().kind == "ID" and self.peek(1).kind == "EQUALS"

    def param(self) -> Any:
        if self.peek().kind == "OPEN_SEXPR":
            self.take("OPEN_SEXPR")
            path, params, hash_ = self.call()
            self.take("CLOSE_SEXPR")
            return _SubExpr(path, params, hash_)
        return self.helper_name()

    def helper_name(self) -> Any:
        token = self.peek()
        if token.kind in ("ID", "DATA"):
            data = token.kind == "DATA"
            self.i += data
            return self.path(data=data)
        literal = _literal(token)
        if literal is None:
            raise self.error(token, "expected a name or a value")
        self.i += 1
        return literal

    def path(self, *, data: bool) -> _Path:
        first = self.take("ID")
        segments: list[tuple[str, str, str]] = [(_id(first.text), first.text, "")]
        while self.peek().kind == "SEP":
            separator = self.take("SEP").text
            token = self.take("ID")
            segments.append((_id(token.text), token.text, separator))
        original = "@" if data else ""
        parts: list[str] = []
        depth = 0
        for part, raw, separator in segments:
            original += separator + part
            if raw == part and part in ("..", ".", "this"):
                if parts:
                    raise TemplateSyntaxError(
                        f"line {_line_of(self.source, first.pos)}: invalid path {original}"
                    )
                if part == "..":
                    depth += 1
            else:
                parts.append(part)
        return _Path(data, depth, parts, original)

    def block_params(self) -> list[str] | None:
        if self.peek().kind != "OPEN_BLOCK_PARAMS":
            return None
        self.take("OPEN_BLOCK_PARAMS")
        names = [self.take("ID").text]
        while self.peek().kind == "ID":
            names.append(self.take("ID").text)
        self.take("CLOSE_BLOCK_PARAMS")
        return names

    def open_tag(self, *kinds: str) -> _OpenTag:
        token = self.take(*kinds)
        path, params, hash_ = self.call()
        names = self.block_params()
        close = self.take("CLOSE")
        return _OpenTag(token, path, params, hash_, names, _strip_flags(token.text, close.text))

    def block(self) -> _Block:
        tag = self.open_tag("OPEN_BLOCK", "OPEN_INVERSE")
        inverted = tag.token.kind == "OPEN_INVERSE"
        program = self.program()
        chain: dict[str, Any] | None = None
        if self.peek().kind == "INVERSE":
            chain = self.inverse_and_program()
        elif self.peek().kind == "OPEN_INVERSE_CHAIN" and not inverted:
            chain = self.inverse_chain()
        close_open = self.take("OPEN_ENDBLOCK")
        close_name = self.helper_name()
        close_tag = self.take("CLOSE")
        if _original(close_name) != _original(tag.path):
            raise TemplateSyntaxError(
                f"line {_line_of(self.source, tag.token.pos)}: "
                f"{js_string_repr(_original(tag.path))} doesn't match {js_string_repr(_original(close_name))}"
            )
        close_strip = _strip_flags(close_open.text, close_tag.text)
        return self.prepare_block(tag, program, chain, close_strip, inverted=inverted)

    def prepare_block(
        self,
        tag: _OpenTag,
        program: _Program,
        chain: dict[str, Any] | None,
        close_strip: dict[str, bool] | None,
        *,
        inverted: bool,
    ) -> _Block:
        """Handlebars' prepareBlock: the block node, its inverse (or else-chain) and their strip flags."""
        decorator = "*" in tag.token.text
        line = _line_of(self.source, tag.token.pos)
        program.block_params = tag.block_params
        inverse: _Program | None = None
        inverse_strip: dict[str, bool] | None = None
        if chain is not None:
            if decorator:
                raise TemplateSyntaxError(f"line {line}: unexpected inverse block on decorator")
            if chain["chain"]:
                chain["program"].body[0].close_strip = close_strip
            inverse_strip = chain["strip"]
            inverse = chain["program"]
        fn: _Program | None = program
        if inverted:
            fn, inverse = inverse, program
        return _Block(tag.path, tag.params, tag.hash, fn, inverse, tag.strip, inverse_strip, close_strip,
                      decorator, line)  # fmt: skip

    def inverse_and_program(self) -> dict[str, Any]:
        token = self.take("INVERSE")
        return {"strip": _strip_flags(token.text, token.text), "program": self.program(), "chain": False}

    def inverse_chain(self) -> dict[str, Any]:
        """`{{else if x}}...`: a program holding one block, as Handlebars' inverseChain rule builds it."""
        tag = self.open_tag("OPEN_INVERSE_CHAIN")
        program = self.program()
        rest: dict[str, Any] | None = None
        if self.peek().kind == "INVERSE":
            rest = self.inverse_and_program()
        elif self.peek().kind == "OPEN_INVERSE_CHAIN":
            rest = self.inverse_chain()
        block = self.prepare_block(tag, program, rest, rest["strip"] if rest else None, inverted=False)
        return {"strip": tag.strip, "program": _Program([block], chained=True), "chain": True}

    def partial(self) -> _Partial:
        open_token = self.take("OPEN_PARTIAL")
        name = self.param()
        params: list[Any] = []
        while self.peek().kind in _PARAM_START and not self.at_hash():
            params.append(self.param())
        hash_ = None
        if self.at_hash():
            hash_ = []
            while self.at_hash():
                key = _id(self.take("ID").text)
                self.take("EQUALS")
                hash_.append((key, self.param()))
        close = self.take("CLOSE")
        return _Partial(
            name,
            params,
            hash_,
            _strip_flags(open_token.text, close.text),
            _line_of(self.source, open_token.pos),
        )


def _literal(token: _Token) -> _Literal | None:
    """The literal a STRING, NUMBER, BOOLEAN, UNDEFINED or NULL token stands for (None for other tokens)."""
    if token.kind == "STRING":
        return _Literal("string", token.text, token.text)
    if token.kind == "NUMBER":
        number = float(token.text)
        value: Any = int(number) if number.is_integer() and "." not in token.text else number
        return _Literal("number", value, value)
    constants = {"BOOLEAN": ("boolean", token.text == "true"), "UNDEFINED": ("undefined", UNDEFINED),
                 "NULL": ("null", None)}  # fmt: skip
    if token.kind in constants:
        kind, constant = constants[token.kind]
        return _Literal(kind, constant, constant)
    return None


def _original(node: Any) -> Any:
    if isinstance(node, _Path):
        return node.original
    if isinstance(node, _Literal):
        return node.original
    return None


# ---------------------------------------------------------------------------------------------------------
# Whitespace control: Handlebars' WhitespaceControl visitor (standalone lines and `~`), ported as is.

_WS = f"[{_JS_WS}]"
_PREV_WS = re.compile(rf"\r?\n{_WS}*?\Z")
_PREV_WS_ROOT = re.compile(rf"(?:^|\r?\n){_WS}*?\Z")
_NEXT_WS = re.compile(rf"{_WS}*?\r?\n")
_NEXT_WS_ROOT = re.compile(rf"{_WS}*?(?:\r?\n|\Z)")


def _is_prev_whitespace(body: list[Any], i: int | None = None, is_root: bool = False) -> bool | None:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i - 1 >= 0 else None
    sibling = body[i - 2] if i - 2 >= 0 else None
    if prev is None:
        return is_root
    if isinstance(prev, _Content):
        pattern = _PREV_WS if (sibling is not None or not is_root) else _PREV_WS_ROOT
        return pattern.search(prev.original) is not None
    return None


def _is_next_whitespace(body: list[Any], i: int | None = None, is_root: bool = False) -> bool | None:
    if i is None:
        i = -1
    nxt = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if nxt is None:
        return is_root
    if isinstance(nxt, _Content):
        pattern = _NEXT_WS if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.match(nxt.original) is not None
    return None


def _omit_right(body: list[Any], i: int | None = None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, _Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    current.value = re.sub(rf"\A{_WS}+" if multiple else r"\A[ \t]*\r?\n?", "", current.value, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: list[Any], i: int | None = None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, _Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = re.sub(rf"{_WS}+\Z" if multiple else r"[ \t]+\Z", "", current.value, count=1)
    current.left_stripped = current.value != original
    return current.left_stripped


class _WhitespaceControl:
    def __init__(self) -> None:
        self.root_seen = False

    def program(self, program: _Program) -> None:
        is_root = not self.root_seen
        self.root_seen = True
        body = program.body
        for i, current in enumerate(body):
            strip = self.accept(current)
            if not strip:
                continue
            prev_ws = _is_prev_whitespace(body, i, is_root)
            next_ws = _is_next_whitespace(body, i, is_root)
            open_standalone = strip.get("openStandalone") and prev_ws
            close_standalone = strip.get("closeStandalone") and next_ws
            inline_standalone = strip.get("inlineStandalone") and prev_ws and next_ws
            if strip.get("close"):
                _omit_right(body, i, True)
            if strip.get("open"):
                _omit_left(body, i, True)
            if inline_standalone:
                _omit_right(body, i)
                if _omit_left(body, i) and isinstance(current, _Partial):
                    found = re.search(r"([ \t]+)\Z", body[i - 1].original)
                    current.indent = found.group(1) if found else ""
            if open_standalone:
                assert isinstance(current, _Block)
                _omit_right((current.program or current.inverse or _Program([])).body)
                _omit_left(body, i)
            if close_standalone:
                assert isinstance(current, _Block)
                _omit_right(body, i)
                _omit_left((current.inverse or current.program or _Program([])).body)

    def accept(self, node: Any) -> dict[str, Any] | None:
        if isinstance(node, _Block):
            return self.block(node)
        if isinstance(node, _Mustache):
            return node.strip
        if isinstance(node, _Partial | _Comment):
            return {
                "inlineStandalone": True,
                "open": node.strip.get("open"),
                "close": node.strip.get("close"),
            }
        return None

    def block(self, block: _Block) -> dict[str, Any]:
        if block.program is not None:
            self.program(block.program)
        if block.inverse is not None:
            self.program(block.inverse)
        program = block.program or block.inverse
        assert program is not None
        inverse = block.inverse if block.program is not None else None
        first_inverse = last_inverse = inverse
        if inverse is not None and inverse.chained:
            first_inverse = inverse.body[0].program
            while last_inverse is not None and last_inverse.chained:
                last_inverse = last_inverse.body[-1].program
        close_strip = block.close_strip or {}
        strip = {
            "open": block.open_strip.get("open"),
            "close": close_strip.get("close"),
            "openStandalone": _is_next_whitespace(program.body),
            "closeStandalone": _is_prev_whitespace((first_inverse or program).body),
        }
        if block.open_strip.get("close"):
            _omit_right(program.body, None, True)
        if inverse is not None:
            inverse_strip = block.inverse_strip or {}
            if inverse_strip.get("open"):
                _omit_left(program.body, None, True)
            if inverse_strip.get("close"):
                assert first_inverse is not None
                _omit_right(first_inverse.body, None, True)
            if close_strip.get("open"):
                assert last_inverse is not None
                _omit_left(last_inverse.body, None, True)
            assert first_inverse is not None
            if _is_prev_whitespace(program.body) and _is_next_whitespace(first_inverse.body):
                _omit_left(program.body)
                _omit_right(first_inverse.body)
        elif close_strip.get("open"):
            _omit_left(program.body, None, True)
        return strip


# ---------------------------------------------------------------------------------------------------------
# Compiled form and its evaluation.

_KNOWN_HELPERS = frozenset(
    {"helperMissing", "blockHelperMissing", "each", "if", "unless", "with", "log", "lookup"}
)
# Handlebars 4.7 still counts these as known helpers but keeps them out of the helpers a template can call.
_MISSING_HOOKS = frozenset({"helperMissing", "blockHelperMissing"})


@dataclass
class _State:
    ctx: Any
    depths: list[Any]
    data: dict[str, Any]
    block_params: list[tuple[list[str], list[Any] | None]]
    partials: dict[str, _PartialDef]
    escaping: Escaping


@dataclass(frozen=True)
class _PartialDef:
    program: _Exec
    depths: list[Any]


Evaluator = Callable[[_State], Any]


@dataclass
class _Exec:
    """A compiled program: its statements, the inline partials it declares, its block parameter names."""

    body: list[Callable[[_State, list[str]], None]] = field(default_factory=list)
    inline_partials: list[tuple[str, _Exec]] = field(default_factory=list)
    block_params: list[str] | None = None


def _this_for_helper(state: _State) -> Any:
    return NULL_CONTEXT if state.ctx is None or state.ctx is UNDEFINED else state.ctx


def _run(
    program: _Exec | None,
    ctx: Any,
    depths: list[Any],
    state: _State,
    *,
    data: dict[str, Any] | None = None,
    block_params: list[Any] | None = None,
    out: list[str],
) -> None:
    """Runs a child program the way Handlebars' wrapProgram does (a new context pushes a depth)."""
    if program is None:
        return
    head = depths[0] if depths else UNDEFINED
    if not _loose_equal(ctx, head) and not (ctx is NULL_CONTEXT and head is None):
        depths = [ctx, *depths]
    _execute(
        program,
        _State(
            ctx,
            depths,
            state.data if data is None else data,
            state.block_params,
            state.partials,
            state.escaping,
        ),
        depths,
        block_params,
        out,
    )


def _execute(
    program: _Exec, state: _State, parent_depths: list[Any], block_params: list[Any] | None, out: list[str]
) -> None:
    if program.block_params is not None:
        state.block_params = [*state.block_params, (program.block_params, block_params)]
    if program.inline_partials:
        partials = dict(state.partials)
        for name, body in program.inline_partials:
            partials[name] = _PartialDef(body, parent_depths)
        state.partials = partials
    for statement in program.body:
        statement(state, out)


class _Compiler:
    def __init__(self) -> None:
        self.block_param_scopes: list[list[str] | None] = []
        self.raw_outputs: list[str] = []

    def program(self, program: _Program | None) -> _Exec | None:
        if program is None:
            return None
        self.block_param_scopes.insert(0, program.block_params)
        try:
            compiled = _Exec(block_params=program.block_params)
            for node in program.body:
                self.statement(node, compiled)
            return compiled
        finally:
            self.block_param_scopes.pop(0)

    def statement(self, node: Any, compiled: _Exec) -> None:
        if isinstance(node, _Content):
            if node.value:
                text = node.value
                compiled.body.append(lambda state, out: out.append(text))
        elif isinstance(node, _Comment):
            return
        elif isinstance(node, _Mustache):
            compiled.body.append(self.mustache(node))
        elif isinstance(node, _Block):
            if node.decorator:
                name, body = self.inline_partial(node)
                compiled.inline_partials.append((name, body))
            else:
                compiled.body.append(self.block(node))
        elif isinstance(node, _Partial):
            compiled.body.append(self.partial(node))

    # -- expressions -----------------------------------------------------------------------------------

    def is_block_param(self, name: str) -> bool:
        return any(scope and name in scope for scope in self.block_param_scopes)

    def classify(self, path: Any, params: list[Any], hash_: Any, *, subexpression: bool = False) -> str:
        simple = isinstance(path, _Path) and len(path.parts) == 1 and not _scoped(path) and not path.depth
        block_param = simple and self.is_block_param(path.parts[0])
        helper = not block_param and (subexpression or bool(params) or hash_ is not None)
        eligible = not block_param and (helper or simple)
        if eligible and not helper and path.parts[0] in _KNOWN_HELPERS:
            helper = True
        if helper:
            return "helper"
        return "ambiguous" if eligible else "simple"

    def path(self, path: _Path, *, strict: bool) -> Evaluator:
        parts = list(path.parts)
        depth = path.depth
        if not depth and parts and not _scoped(path) and self.is_block_param(parts[0]):
            name, rest = parts[0], parts[1:]

            def block_param(state: _State) -> Any:
                for names, values in reversed(state.block_params):
                    if name in names:
                        if values is None:
                            raise TemplateRenderError(f"block parameter {name} has no value here")
                        index = names.index(name)
                        value = values[index] if index < len(values) else UNDEFINED
                        break
                else:
                    value = UNDEFINED
                for part in rest:
                    value = _lookup(value, part)
                return value

            return block_param

        shown = path.original

        def resolve(base: Any) -> Any:
            if not parts:
                return base
            try:
                if strict:
                    for part in parts[:-1]:
                        base = _lookup(base, part)
                    return _strict(base, parts[-1])
                for part in parts:
                    base = _lookup(base, part)
            except MissingVariableError as exc:
                raise MissingVariableError(f"{{{{{shown}}}}}: {exc}") from None
            return base

        if path.data:

            def data_path(state: _State) -> Any:
                frame: Any = state.data
                steps = depth
                while _truthy(frame) and steps:
                    frame = frame.get("_parent", UNDEFINED) if isinstance(frame, dict) else UNDEFINED
                    steps -= 1
                return resolve(frame)

            return data_path

        def context_path(state: _State) -> Any:
            base = (
                state.ctx if depth == 0 else (state.depths[depth] if depth < len(state.depths) else UNDEFINED)
            )
            return resolve(base)

        return context_path

    def param(self, node: Any) -> Evaluator:
        if isinstance(node, _Literal):
            value = node.value
            return lambda state: value
        if isinstance(node, _SubExpr):
            return self.subexpression(node)
        return self.path(node, strict=False)

    def hash(self, hash_: list[tuple[str, Any]] | None) -> list[tuple[str, Evaluator]]:
        return [(key, self.param(value)) for key, value in (hash_ or [])]

    def subexpression(self, node: _SubExpr) -> Evaluator:
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash, subexpression=True)
        if kind == "simple":
            return self.path(path, strict=True)
        return self.helper_call(path, node.params, node.hash)

    def helper_call(self, path: _Path, params_nodes: list[Any], hash_nodes: Any) -> Evaluator:
        """A non-block helper's value (mustache or subexpression), as Handlebars' built-in helpers give it."""
        name = path.parts[0] if path.parts else ""
        params = [self.param(p) for p in params_nodes]
        hash_ = self.hash(hash_nodes)

        def evaluate_arguments(state: _State) -> list[Any]:
            values = [param(state) for param in params]
            for _, value in hash_:
                value(state)
            return values

        if name not in _KNOWN_HELPERS:
            raise TemplateSyntaxError(f"unknown helper {path.original!r}")
        if name in _MISSING_HOOKS:
            return _then_fail(evaluate_arguments, f"{name} is not a helper that templates can call")
        if name == "lookup":

            def lookup(state: _State) -> Any:
                values = evaluate_arguments(state)
                obj = values[0] if values else {"options": True}  # Handlebars passes its options object
                if not _truthy(obj):
                    return obj
                if len(values) != 2:
                    raise TemplateRenderError("lookup takes exactly two arguments: an object and a key")
                return _lookup(obj, _property_key(values[1]))

            return lookup
        if name == "log":

            def log(state: _State) -> Any:
                evaluate_arguments(state)
                return UNDEFINED

            return log
        return _then_fail(evaluate_arguments, f"{{{{{name}}}}} must be a block: {{{{#{name} ...}}}}")

    # -- statements ------------------------------------------------------------------------------------

    def mustache(self, node: _Mustache) -> Callable[[_State, list[str]], None]:
        if node.decorator:
            raise TemplateSyntaxError(f"line {node.line}: decorators {{{{* ...}}}} are not supported")
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash)
        value = (
            self.helper_call(path, node.params, node.hash)
            if kind == "helper"
            else self.path(path, strict=True)
        )
        escaped = node.escaped
        if not escaped:
            self.raw_outputs.append(
                f"line {node.line}: {{{{{{{path.original}}}}}}} / {{{{& {path.original}}}}}"
            )

        def output(state: _State, out: list[str]) -> None:
            text = js_string(value(state))
            if state.escaping is Escaping.HTML:
                text = escape_html(text)
            out.append(text)

        return output

    def block(self, node: _Block) -> Callable[[_State, list[str]], None]:
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash)
        fn = self.program(node.program)
        inverse = self.program(node.inverse)
        if kind != "helper":
            return self.section(self.path(path, strict=True), fn, inverse)
        name = path.parts[0] if path.parts else ""
        if name not in ("if", "unless", "each", "with"):
            if name in _KNOWN_HELPERS:
                raise TemplateSyntaxError(
                    f"line {node.line}: {{{{#{path.original}}}}} is not supported as a block"
                )
            raise TemplateSyntaxError(f"line {node.line}: unknown block helper {{{{#{path.original}}}}}")
        params = [self.param(p) for p in node.params]
        hash_ = self.hash(node.hash)

        def arguments(state: _State) -> tuple[list[Any], dict[str, Any]]:
            values = [param(state) for param in params]
            return values, {key: value(state) for key, value in hash_}

        if name in ("if", "unless"):
            positive, negative = (fn, inverse) if name == "if" else (inverse, fn)

            def conditional(state: _State, out: list[str]) -> None:
                values, options = arguments(state)
                if len(values) != 1:
                    raise TemplateRenderError(f"#{name} requires exactly one argument")
                condition = values[0]
                include_zero = _truthy(options.get("includeZero", UNDEFINED))
                this = _this_for_helper(state)
                if (not include_zero and not _truthy(condition)) or _is_empty(condition):
                    _run(negative, this, state.depths, state, out=out)
                else:
                    _run(positive, this, state.depths, state, out=out)

            return conditional
        if name == "with":

            def with_(state: _State, out: list[str]) -> None:
                values, _ = arguments(state)
                if len(values) != 1:
                    raise TemplateRenderError("#with requires exactly one argument")
                if _is_empty(values[0]):
                    _run(inverse, _this_for_helper(state), state.depths, state, out=out)
                else:
                    _run(fn, values[0], state.depths, state, block_params=[values[0]], out=out)

            return with_

        def each(state: _State, out: list[str]) -> None:
            values, _ = arguments(state)
            if len(values) != 1:
                raise TemplateRenderError("Must pass iterator to #each")
            _each(values[0], fn, inverse, this=_this_for_helper(state), state=state, out=out)

        return each

    def section(
        self, value: Evaluator, fn: _Exec | None, inverse: _Exec | None
    ) -> Callable[[_State, list[str]], None]:
        """`{{#name}}` with no helper: Handlebars' blockHelperMissing."""

        def run(state: _State, out: list[str]) -> None:
            context = value(state)
            this = state.ctx
            if context is True:
                _run(fn, this, state.depths, state, out=out)
            elif context is False or context is None or context is UNDEFINED:
                _run(inverse, this, state.depths, state, out=out)
            elif isinstance(context, list):
                if context:
                    _each(context, fn, inverse, this=this, state=state, out=out)
                else:
                    _run(inverse, this, state.depths, state, out=out)
            else:
                _run(fn, context, state.depths, state, out=out)

        return run

    def inline_partial(self, node: _Block) -> tuple[str, _Exec]:
        path = node.path
        if not (isinstance(path, _Path) and path.original == "inline"):
            raise TemplateSyntaxError(
                f"line {node.line}: decorator {{{{#*{_original(path)}}}}} is not supported"
            )
        if (
            len(node.params) != 1
            or not isinstance(node.params[0], _Literal)
            or node.params[0].kind != "string"
        ):
            raise TemplateSyntaxError(
                f'line {node.line}: {{{{#*inline}}}} takes one quoted name: {{{{#*inline "name"}}}}'
            )
        body = self.program(node.program) or _Exec()
        return node.params[0].value, body

    def partial(self, node: _Partial) -> Callable[[_State, list[str]], None]:
        if isinstance(node.name, _SubExpr):
            raise TemplateSyntaxError(f"line {node.line}: dynamic partials {{{{> (...)}}}} are not supported")
        if node.hash is not None:
            raise TemplateSyntaxError(f"line {node.line}: partial parameters (name=value) are not supported")
        if len(node.params) > 1:
            raise TemplateSyntaxError(
                f"line {node.line}: Unsupported number of partial arguments: {len(node.params)}"
            )
        name = js_string(_original(node.name))
        if name in _OBJECT_PROTO or name.startswith("@"):
            raise TemplateSyntaxError(f"line {node.line}: partial name {name!r} is not supported")
        context = self.param(node.params[0]) if node.params else None
        indent = node.indent

        def invoke(state: _State, out: list[str]) -> None:
            ctx = context(state) if context is not None else state.ctx
            found = state.partials.get(name)
            if found is None:
                raise TemplateRenderError(f"The partial {name} could not be found")
            parts: list[str] = []
            _run(found.program, ctx, found.depths, state, out=parts)
            result = "".join(parts)
            if indent:
                lines = result.split("\n")
                for i, line in enumerate(lines):
                    if not line and i + 1 == len(lines):
                        break
                    lines[i] = indent + line
                result = "\n".join(lines)
            out.append(result)

        return invoke


def _then_fail(evaluate: Callable[[_State], Any], message: str) -> Evaluator:
    def evaluate_and_fail(state: _State) -> Any:
        evaluate(state)
        raise TemplateRenderError(message)

    return evaluate_and_fail


def _scoped(path: _Path) -> bool:
    """Handlebars' scopedId, /^\\.|this\\b/ on the path as written: `this`, `this.x`, `./x`."""
    return path.original.startswith(".") or re.search(r"this\b", path.original, re.ASCII) is not None


def _literal_to_path(node: Any) -> _Path:
    if isinstance(node, _Path):
        return node
    text = js_string_repr(node.original) if node.kind in ("null", "undefined") else js_string(node.original)
    return _Path(False, 0, [text], text)


def _each(
    context: Any, fn: _Exec | None, inverse: _Exec | None, *, this: Any, state: _State, out: list[str]
) -> None:
    frame = {**state.data, "_parent": state.data}
    items: list[tuple[Any, Any]]
    if isinstance(context, list):
        items = list(enumerate(context))
    elif isinstance(context, dict):
        items = [(key, context[key]) for key in _object_keys(context)]
    else:
        items = []
    if not items:
        _run(inverse, this, state.depths, state, out=out)
        return
    last = len(items) - 1
    for index, (key, item) in enumerate(items):
        frame.update(key=key, index=index, first=index == 0, last=index == last)
        _run(fn, item, state.depths, state, data=frame, block_params=[item, key], out=out)


@dataclass(frozen=True)
class Template:
    """A compiled template: render it with any data, as many times as needed (thread-safe)."""

    source: str
    program: _Exec = field(repr=False)
    raw_outputs: tuple[str, ...]  # where the source uses {{{x}}} or {{& x}}

    def render(self, data: Any, escaping: Escaping) -> str:
        """The rendered text; TemplateRenderError when Handlebars.js (strict) would throw for this data."""
        depths = [data]
        state = _State(data, depths, {"root": data}, [], {}, escaping)
        out: list[str] = []
        try:
            _execute(self.program, state, [], None, out)
        except RecursionError:
            raise TemplateRenderError("data or partials nested too deeply to render") from None
        return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """The compiled template for `source` (cached per distinct text); TemplateSyntaxError if it can't be."""
    try:
        ast = _Parser(source).parse()
        _WhitespaceControl().program(ast)
        compiler = _Compiler()
        program = compiler.program(ast)
    except RecursionError:
        raise TemplateSyntaxError("blocks nested too deeply") from None
    assert program is not None
    return Template(source, program, tuple(compiler.raw_outputs))
