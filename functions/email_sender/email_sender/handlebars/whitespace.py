"""Handlebars' WhitespaceControl visitor (standalone lines and `~`), ported as is: trims the AST in place.

Its one change: an `{{else if}}` chain, which Handlebars visits one nested call per link, is visited in a
loop, in the same order.
"""

from __future__ import annotations

import re
from typing import Any

from email_sender.handlebars.deadline import _Deadline
from email_sender.handlebars.js_values import _JS_WS
from email_sender.handlebars.nodes import _Block, _Comment, _Content, _Mustache, _Partial, _Program

_WS = f"[{_JS_WS}]"
# The same characters for str.rstrip: Handlebars' `\s+$`-style patterns, searched from every position of a
# long run of whitespace, took time quadratic in the run; stripping from the end takes linear time.
_WS_CHARS = re.sub(r"(.)-(.)", lambda m: "".join(map(chr, range(ord(m[1]), ord(m[2]) + 1))), _JS_WS)
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
        # /\r?\n\s*?$/ (or /(^|\r?\n)\s*?$/ at the root's edge): the whitespace ending it holds a newline.
        text = prev.original
        kept = text.rstrip(_WS_CHARS)
        return "\n" in text[len(kept) :] or (not kept and sibling is None and is_root)
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
    current.value = current.value.rstrip(_WS_CHARS if multiple else " \t")
    current.left_stripped = current.value != original
    return current.left_stripped


class _WhitespaceControl:
    def __init__(self, deadline: _Deadline | None = None) -> None:
        self.root_seen = False
        self.deadline = deadline or _Deadline()

    def program(self, program: _Program) -> None:
        is_root = not self.root_seen
        self.root_seen = True
        body = program.body
        for i, current in enumerate(body):
            self.deadline.step()
            strip = self.accept(current)
            if strip:
                _strip_around(body, i, strip, is_root)

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
        """Visits the block's programs (an else chain's, link after link), then trims, the last link first.

        A chain's inner links trim only their own programs and the next link's: what they return would
        trim around them in a program of their own, where nothing else is.
        """
        chain = _else_chain(block)
        for link in chain:
            if link.program is not None:
                self.program(link.program)
            if link.inverse is not None and not link.inverse.chained:
                self.program(link.inverse)
        strip: dict[str, Any] = {}
        for link in reversed(chain):
            strip = _trim_block(link)
        return strip


def _else_chain(block: _Block) -> list[_Block]:
    """The block, then the block of each `{{else if}}` that follows it."""
    chain = [block]
    while chain[-1].program is not None and (inverse := chain[-1].inverse) is not None and inverse.chained:
        chain.append(inverse.body[0])
    return chain


def _trim_block(block: _Block) -> dict[str, Any]:
    """Handlebars' BlockStatement visit once its programs are visited: trims them; the strip around it."""
    program = block.program or block.inverse
    assert program is not None
    inverse = block.inverse if block.program is not None else None
    first_inverse, last_inverse = _else_chain_ends(inverse)
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
        _strip_around_else(block, program, first_inverse, last_inverse)
    elif close_strip.get("open"):
        _omit_left(program.body, None, True)
    return strip


def _strip_around(body: list[Any], i: int, strip: dict[str, Any], is_root: bool) -> None:
    """Trims the content on either side of `body[i]`: its `~` flags, then the standalone-line rules."""
    prev_ws = _is_prev_whitespace(body, i, is_root)
    next_ws = _is_next_whitespace(body, i, is_root)
    if strip.get("close"):
        _omit_right(body, i, True)
    if strip.get("open"):
        _omit_left(body, i, True)
    if strip.get("inlineStandalone") and prev_ws and next_ws:
        _strip_inline_standalone(body, i)
    if strip.get("openStandalone") and prev_ws:
        _strip_standalone_open_tag(body, i)
    if strip.get("closeStandalone") and next_ws:
        _strip_standalone_close_tag(body, i)


def _strip_inline_standalone(body: list[Any], i: int) -> None:
    """A comment or partial alone on its line: the line goes, and a partial indents its lines as it was."""
    current = body[i]
    _omit_right(body, i)
    if _omit_left(body, i) and isinstance(current, _Partial):
        before = body[i - 1].original
        current.indent = before[len(before.rstrip(" \t")) :]


def _strip_standalone_open_tag(body: list[Any], i: int) -> None:
    """`{{#x}}` alone on its line: the line goes, from the indent before the tag to the newline after it."""
    block = body[i]
    assert isinstance(block, _Block)
    _omit_right((block.program or block.inverse or _Program([])).body)
    _omit_left(body, i)


def _strip_standalone_close_tag(body: list[Any], i: int) -> None:
    """`{{/x}}` alone on its line: the line goes, from the indent before the tag to the newline after it."""
    block = body[i]
    assert isinstance(block, _Block)
    _omit_right(body, i)
    _omit_left((block.inverse or block.program or _Program([])).body)


def _else_chain_ends(inverse: _Program | None) -> tuple[_Program | None, _Program | None]:
    """Handlebars' firstInverse and lastInverse: the programs of an `{{else if}}` chain that it trims."""
    first = last = inverse
    if inverse is not None and inverse.chained:
        first = inverse.body[0].program
        while last is not None and last.chained:
            last = last.body[-1].program
    return first, last


def _strip_around_else(
    block: _Block, program: _Program, first_inverse: _Program | None, last_inverse: _Program | None
) -> None:
    """`{{~else}}`, `{{else~}}` and `{{~/x}}` in a block with an inverse, and a standalone `{{else}}` line."""
    inverse_strip = block.inverse_strip or {}
    if inverse_strip.get("open"):
        _omit_left(program.body, None, True)
    if inverse_strip.get("close"):
        assert first_inverse is not None
        _omit_right(first_inverse.body, None, True)
    if (block.close_strip or {}).get("open"):
        assert last_inverse is not None
        _omit_left(last_inverse.body, None, True)
    assert first_inverse is not None
    if _is_prev_whitespace(program.body) and _is_next_whitespace(first_inverse.body):
        _omit_left(program.body)
        _omit_right(first_inverse.body)
