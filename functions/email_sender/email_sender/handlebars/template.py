"""A compiled template, and `compile_template`: parse, trim whitespace, compile, once per source text."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from email_sender.handlebars.compiler import _Compiler
from email_sender.handlebars.errors import TemplateRenderError, TemplateSyntaxError
from email_sender.handlebars.parser import _Parser
from email_sender.handlebars.runtime import Escaping, _Exec, _execute, _State
from email_sender.handlebars.whitespace import _WhitespaceControl


@dataclass(frozen=True)
class Template:
    """A compiled template: render it with any data, as many times as needed (thread-safe)."""

    source: str
    program: _Exec = field(repr=False)
    raw_outputs: tuple[str, ...]  # where the source uses {{{x}}} or {{& x}}
    unknown_helpers: tuple[str, ...]  # helpers it calls that do not exist: a render reaching one fails

    def render(self, data: Any, escaping: Escaping) -> str:
        """The rendered text; TemplateRenderError when Handlebars.js (strict) would throw for this data."""
        depths = [data]
        state = _State(data, depths, {"root": data}, [], {}, escaping)
        out: list[str] = []
        try:
            _execute(self.program, state, [], None, out)
        except RecursionError:
            raise TemplateRenderError("data or partials nested too deeply to render") from None
        return _utf8_safe("".join(out))


def _utf8_safe(text: str) -> str:
    """The text that UTF-8 carries of a JavaScript string: what Handlebars.js's output becomes when sent.

    JavaScript indexes a string by UTF-16 unit, so `{{lookup s 1}}` on "a😀b" gives half of the emoji, a
    lone surrogate, which no UTF-8 text holds: an encoder (TextEncoder, Node's Buffer) writes U+FFFD for
    it. Two halves printed side by side make the emoji again, as they do in the JavaScript string.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # in C: faster than a regular expression that looks for a surrogate
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


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
    return Template(source, program, tuple(compiler.raw_outputs), tuple(compiler.unknown_helpers))
