"""A compiled template, and `compile_template`: parse, trim whitespace, compile, once per source text."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
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

    def render(self, data: Any, escaping: Escaping) -> str:
        """The rendered text; TemplateRenderError when Handlebars.js (strict) would throw for this data."""
        try:
            try:
                return self._render(data, escaping)
            except RecursionError:
                return _on_a_new_stack(lambda: self._render(data, escaping))
        except RecursionError:
            raise TemplateRenderError("data or partials nested too deeply to render") from None

    def _render(self, data: Any, escaping: Escaping) -> str:
        state = _State(data, [data], {"root": data}, [], {}, escaping)
        out: list[str] = []
        _execute(self.program, state, [], None, out)
        return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """The compiled template for `source` (cached per distinct text); TemplateSyntaxError if it can't be."""
    try:
        try:
            return _compile(source)
        except RecursionError:
            return _on_a_new_stack(lambda: _compile(source))
    except RecursionError:  # not within the parser's nesting limits, which an empty stack holds
        raise TemplateSyntaxError("nested too deeply to compile") from None


def _compile(source: str) -> Template:
    ast = _Parser(source).parse()
    _WhitespaceControl().program(ast)
    compiler = _Compiler()
    program = compiler.program(ast)
    assert program is not None
    return Template(source, program, tuple(compiler.raw_outputs))


def _on_a_new_stack[T](work: Callable[[], T]) -> T:
    """`work()` on a new thread, whose stack is empty: what runs out of room on the caller's stack, again.

    The parser's nesting limits keep a template's compile and render within a few hundred frames, which an
    empty stack always holds: how deep the caller happens to be must not decide whether a template compiles
    or renders. `work` runs again, so it must have no side effects (neither compiling nor rendering has any).
    """
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # noqa: BLE001  (raised again in the caller's thread, below)
            errors.append(exc)

    thread = threading.Thread(target=run, name="handlebars-new-stack")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]
