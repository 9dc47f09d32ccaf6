"""A compiled template, and `compile_template`: parse, trim whitespace, compile, once per source text."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from email_sender.handlebars.compiler import _Compiler
from email_sender.handlebars.deadline import _Deadline
from email_sender.handlebars.errors import TemplateRenderError, TemplateSyntaxError
from email_sender.handlebars.js_values import escape_html, utf8_safe
from email_sender.handlebars.parser import _Parser
from email_sender.handlebars.runtime import Escaping, _Exec, _execute, _State
from email_sender.handlebars.whitespace import _WhitespaceControl

# Compiled templates kept per process: the most recently used, at most this many, and at most this much
# source text between them (a compiled part holds a few times its text; SES allows 500 KB per template).
CACHE_TEMPLATES = 256
CACHE_CHARS = 4_000_000


@dataclass(frozen=True)
class Template:
    """A compiled template: render it with any data, as many times as needed (thread-safe)."""

    source: str
    program: _Exec = field(repr=False)
    raw_outputs: tuple[str, ...]  # where the source uses {{{x}}} or {{& x}}
    unknown_helpers: tuple[str, ...]  # helpers it calls that do not exist: a render reaching one fails

    def render(self, data: Any, escaping: Escaping, raw: Callable[[str], str] = escape_html) -> str:
        """The rendered text; TemplateRenderError when Handlebars.js (strict) would throw for this data.

        In an HTML part, `raw` writes each {{{x}}} and {{& x}} value (by default escaped like {{x}}).
        """
        try:
            try:
                return self._render(data, escaping, raw)
            except RecursionError:
                return _on_a_new_stack(lambda: self._render(data, escaping, raw))
        except RecursionError:
            raise TemplateRenderError("data or partials nested too deeply to render") from None

    def _render(self, data: Any, escaping: Escaping, raw: Callable[[str], str]) -> str:
        state = _State(data, [data], {"root": data}, [], {}, escaping, raw)
        out: list[str] = []
        _execute(self.program, state, [], None, out)
        return utf8_safe("".join(out))


def compile_template(source: str, time_left: Callable[[], float] | None = None) -> Template:
    """The compiled template for `source` (cached per distinct text); TemplateSyntaxError if it can't be.

    `time_left()`, when given, is how many seconds the compile may still take; with none left the compile
    stops, raising CompileTimeUp. A template compiled before returns at once, whatever the time.
    """
    template = _CACHE.get(source)
    if template is None:
        try:
            try:
                template = _compile(source, _Deadline(time_left))
            except RecursionError:
                template = _on_a_new_stack(lambda: _compile(source, _Deadline(time_left)))
        except RecursionError:  # not within the parser's nesting limits, which an empty stack holds
            raise TemplateSyntaxError("nested too deeply to compile") from None
        _CACHE.put(template)
    return template


def _compile(source: str, deadline: _Deadline) -> Template:
    ast = _Parser(source, deadline).parse()
    _WhitespaceControl(deadline).program(ast)
    compiler = _Compiler(deadline)
    program = compiler.program(ast)
    assert program is not None
    return Template(source, program, tuple(compiler.raw_outputs), tuple(compiler.unknown_helpers))


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


class _Cache:
    """Compiled templates by source text, the least recently used dropped first (thread-safe)."""

    def __init__(self, templates: int, chars: int) -> None:
        self.templates = templates
        self.chars = chars
        self._kept: OrderedDict[str, Template] = OrderedDict()
        self._kept_chars = 0
        self._lock = threading.Lock()

    def get(self, source: str) -> Template | None:
        with self._lock:
            template = self._kept.get(source)
            if template is not None:
                self._kept.move_to_end(source)
            return template

    def put(self, template: Template) -> None:
        with self._lock:
            if template.source in self._kept:
                return
            self._kept[template.source] = template
            self._kept_chars += len(template.source)
            while len(self._kept) > 1 and (len(self._kept) > self.templates or self._kept_chars > self.chars):
                source, _ = self._kept.popitem(last=False)
                self._kept_chars -= len(source)


_CACHE = _Cache(CACHE_TEMPLATES, CACHE_CHARS)
