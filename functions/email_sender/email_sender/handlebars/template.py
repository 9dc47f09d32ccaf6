"""A compiled template, and `compile_template`: parse, trim whitespace, compile, once per source text."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from email_sender.handlebars.compiler import _Compiler
from email_sender.handlebars.errors import TemplateRenderError, TemplateSyntaxError
from email_sender.handlebars.js_values import escape_html
from email_sender.handlebars.parser import _Parser
from email_sender.handlebars.runtime import Escaping, _Exec, _execute, _State
from email_sender.handlebars.whitespace import _WhitespaceControl


@dataclass(frozen=True)
class Template:
    """A compiled template: render it with any data, as many times as needed (thread-safe)."""

    source: str
    program: _Exec = field(repr=False)
    raw_outputs: tuple[str, ...]  # where the source uses {{{x}}} or {{& x}}

    def render(self, data: Any, escaping: Escaping, raw: Callable[[str], str] = escape_html) -> str:
        """The rendered text; TemplateRenderError when Handlebars.js (strict) would throw for this data.

        In an HTML part, `raw` writes each {{{x}}} and {{& x}} value (by default escaped like {{x}}).
        """
        depths = [data]
        state = _State(data, depths, {"root": data}, [], {}, escaping, raw)
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
