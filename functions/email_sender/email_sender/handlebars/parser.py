"""Handlebars' grammar (handlebars.yy) as recursive descent over the lexer's tokens, building the AST.

Nesting recurses, and is limited (MAX_NESTING) by count, not by the stack; an `{{else if}}` chain is a loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from email_sender.handlebars.deadline import _Deadline
from email_sender.handlebars.errors import TemplateSyntaxError
from email_sender.handlebars.js_values import UNDEFINED, js_string_repr
from email_sender.handlebars.lexer import _Lexer, _Token
from email_sender.handlebars.nodes import (
    _Block,
    _Comment,
    _Content,
    _Literal,
    _Mustache,
    _original,
    _Partial,
    _Path,
    _Program,
    _SubExpr,
)

# How deep blocks may nest ({{#each}} in {{#if}} in ...), and sub-expressions ((lookup (lookup a b) c)): real
# templates nest 3 or 4 deep. Counted while parsing, so whether a template compiles never depends on how
# deep the caller's stack is; the compile and the render of a template at the limit fit in a fresh stack.
# An {{else if}} chain is not nesting: its links follow each other, however many there are.
MAX_NESTING = 100


@dataclass(slots=True)
class _OpenTag:
    token: _Token
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    block_params: list[str] | None
    strip: dict[str, bool]


# The four possible strip flags, shared by every node (nothing changes them): one dict per tag would hold
# several bytes per byte of template until the compile ends.
_STRIP_FLAGS = {(o, c): {"open": o, "close": c} for o in (False, True) for c in (False, True)}


def _strip_flags(open_text: str, close_text: str) -> dict[str, bool]:
    opens = len(open_text) > 2 and open_text[2] == "~"
    return _STRIP_FLAGS[opens, len(close_text) >= 3 and close_text[-3] == "~"]


def _id(token: str) -> str:
    return token[1:-1] if re.fullmatch(r"\[[^\n\r\u2028\u2029]*\]", token) else token


_PARAM_START = frozenset({"ID", "DATA", "STRING", "NUMBER", "BOOLEAN", "UNDEFINED", "NULL", "OPEN_SEXPR"})


class _Parser:
    def __init__(self, source: str, deadline: _Deadline | None = None) -> None:
        self.tokens = _Lexer(source).stream(deadline or _Deadline())
        self.ahead: list[_Token] = []  # read from the stream, not yet taken: at most two
        self.blocks = 0  # blocks open here
        self.subexpressions = 0  # sub-expressions open here

    def peek(self, ahead: int = 0) -> _Token:
        while len(self.ahead) <= ahead:  # only an ID is looked past, so never EOF
            self.ahead.append(next(self.tokens))
        return self.ahead[ahead]

    def advance(self) -> None:
        self.peek()
        del self.ahead[0]

    def take(self, *kinds: str) -> _Token:
        token = self.peek()
        if token.kind not in kinds:
            raise self.error(token, f"expected {' or '.join(kinds)}")
        self.advance()
        return token

    def error(self, token: _Token, what: str) -> TemplateSyntaxError:
        got = "end of template" if token.kind == "EOF" else repr(token.text)
        return TemplateSyntaxError(f"line {token.line}: {what}, got {got}")

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
                self.advance()
                body.append(_Content(token.text, token.text))
            elif kind == "COMMENT":
                self.advance()
                body.append(_Comment(_strip_flags(token.text, token.text)))
            elif kind in ("OPEN", "OPEN_UNESCAPED"):
                body.append(self.mustache())
            elif kind in ("OPEN_BLOCK", "OPEN_INVERSE"):
                body.append(self.block())
            elif kind == "OPEN_PARTIAL":
                body.append(self.partial())
            elif kind == "OPEN_PARTIAL_BLOCK":
                body.append(self.partial_block())
            elif kind == "OPEN_RAW_BLOCK":
                body.append(self.raw_block())
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
            line=open_token.line,
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
            token = self.take("OPEN_SEXPR")
            self.subexpressions += 1
            if self.subexpressions > MAX_NESTING:
                raise TemplateSyntaxError(
                    f"line {token.line}: sub-expressions nested deeper than {MAX_NESTING}"
                )
            path, params, hash_ = self.call()
            self.take("CLOSE_SEXPR")
            self.subexpressions -= 1
            return _SubExpr(path, params, hash_)
        return self.helper_name()

    def helper_name(self) -> Any:
        token = self.peek()
        if token.kind in ("ID", "DATA"):
            data = token.kind == "DATA"
            if data:
                self.advance()
            return self.path(data=data)
        literal = _literal(token)
        if literal is None:
            raise self.error(token, "expected a name or a value")
        self.advance()
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
                    raise TemplateSyntaxError(f"line {first.line}: invalid path {original}")
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
        self.enter_block(tag.token)
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
                f"line {tag.token.line}: "
                f"{js_string_repr(_original(tag.path))} doesn't match {js_string_repr(_original(close_name))}"
            )
        close_strip = _strip_flags(close_open.text, close_tag.text)
        self.blocks -= 1
        return self.prepare_block(tag, program, chain, close_strip, inverted=inverted)

    def enter_block(self, token: _Token) -> None:
        """One more block open here (a block, a partial block, a raw block): at most MAX_NESTING."""
        self.blocks += 1
        if self.blocks > MAX_NESTING:
            raise TemplateSyntaxError(f"line {token.line}: blocks nested deeper than {MAX_NESTING}")

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
        line = tag.token.line
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
        """`{{else if x}}...`: a program holding one block, as Handlebars' inverseChain rule builds it.

        Each link's block holds the rest of the chain, so the rule recurses once per link; here the links
        are read in a loop, then built from the last one back, in the order the recursion would build them.
        """
        links: list[tuple[_OpenTag, _Program]] = []
        rest: dict[str, Any] | None = None
        while self.peek().kind == "OPEN_INVERSE_CHAIN":
            tag = self.open_tag("OPEN_INVERSE_CHAIN")
            links.append((tag, self.program()))
            if self.peek().kind == "INVERSE":
                rest = self.inverse_and_program()
                break
        for tag, program in reversed(links):
            block = self.prepare_block(tag, program, rest, rest["strip"] if rest else None, inverted=False)
            rest = {"strip": tag.strip, "program": _Program([block], chained=True), "chain": True}
        assert rest is not None
        return rest

    def partial(self) -> _Partial:
        open_token = self.take("OPEN_PARTIAL")
        name, params, hash_ = self.partial_call()
        close = self.take("CLOSE")
        return _Partial(
            name,
            params,
            hash_,
            _strip_flags(open_token.text, close.text),
            open_token.line,
        )

    def partial_call(self) -> tuple[Any, list[Any], list[tuple[str, Any]] | None]:
        """A partial's name (a name, a value or a subexpression), its context and its hash."""
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
        return name, params, hash_

    def partial_block(self) -> _Block:
        """`{{#> name}}default{{/name}}` (Handlebars' preparePartialBlock): no else, no block parameters."""
        open_token = self.take("OPEN_PARTIAL_BLOCK")
        name, params, hash_ = self.partial_call()
        close = self.take("CLOSE")
        self.enter_block(open_token)
        program = self.program()
        close_open = self.take("OPEN_ENDBLOCK")
        close_name = self.helper_name()
        close_tag = self.take("CLOSE")
        line = open_token.line
        if _original(close_name) != _original(name):
            opened, closed = js_string_repr(_original(name)), js_string_repr(_original(close_name))
            raise TemplateSyntaxError(f"line {line}: {opened} doesn't match {closed}")
        self.blocks -= 1
        open_strip = _strip_flags(open_token.text, close.text)
        close_strip = _strip_flags(close_open.text, close_tag.text)
        return _Block(name, params, hash_, program, None, open_strip, None, close_strip, False, line,
                      partial=True)  # fmt: skip

    def raw_block(self) -> _Block:
        """`{{{{name}}}}text{{{{/name}}}}` (Handlebars' prepareRawBlock): a block whose body is its text.

        Its body is text, however many `{{{{x}}}}` it holds, but the block itself counts as a level of
        nesting, as any block does.
        """
        open_token = self.take("OPEN_RAW_BLOCK")
        self.enter_block(open_token)
        path, params, hash_ = self.call()
        self.take("CLOSE_RAW_BLOCK")
        contents: list[Any] = []
        while self.peek().kind == "CONTENT":
            text = self.peek().text
            self.advance()
            contents.append(_Content(text, text))
        close = self.take("END_RAW_BLOCK")
        line = open_token.line
        if _original(path) != close.text:
            opened = js_string_repr(_original(path))
            raise TemplateSyntaxError(f"line {line}: {opened} doesn't match {close.text}")
        self.blocks -= 1
        return _Block(path, params, hash_, _Program(contents), None, {}, {}, {}, False, line)


def _literal(token: _Token) -> _Literal | None:
    """The literal a STRING, NUMBER, BOOLEAN, UNDEFINED or NULL token stands for (None for other tokens)."""
    if token.kind == "STRING":
        return _Literal("string", token.text, token.text)
    if token.kind == "NUMBER":
        number = float(token.text)
        value: Any = int(number) if number.is_integer() else number  # 1.0 is 1, as in JavaScript
        return _Literal("number", value, value)
    constants = {"BOOLEAN": ("boolean", token.text == "true"), "UNDEFINED": ("undefined", UNDEFINED),
                 "NULL": ("null", None)}  # fmt: skip
    if token.kind in constants:
        kind, constant = constants[token.kind]
        return _Literal(kind, constant, constant)
    return None
