"""How deep a template may go: an `{{else if}}` chain is not nesting, however long; blocks and sub-expressions
nest up to the parser's limit, counted, so that the caller's stack never decides what compiles or renders.

Handlebars.js agrees on the long chains and on nesting at the limit (tests/oracle/edge_cases.py); beyond the
limit it would go on, and we refuse, saying why (docs/email-sender.md, Templates).
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from email_sender.handlebars import Escaping, TemplateRenderError, TemplateSyntaxError, compile_template
from email_sender.handlebars import template as template_module
from email_sender.handlebars.parser import _Parser
from email_sender.handlebars.runtime import _execute

LIMIT = 100  # the documented nesting limit (parser.MAX_NESTING)


def else_if_chain(links: int) -> str:
    """`{{#if a0}}0{{else if a1}}1...{{else}}none{{/if}}`: `links` links, the `{{#if}}` included."""
    return (
        "{{#if a0}}0" + "".join(f"{{{{else if a{i}}}}}{i}" for i in range(1, links)) + "{{else}}none{{/if}}"
    )


def nested_blocks(levels: int) -> str:
    return "{{#if t}}" * levels + "{{x}}" + "{{/if}}" * levels


def nested_subexpressions(levels: int) -> str:
    """`{{lookup (lookup (lookup o 'k') 'k') 'k'}}`: `levels` sub-expressions, one inside the other."""
    expression = "o"
    for _ in range(levels):
        expression = f"(lookup {expression} 'k')"
    return "{{lookup " + expression + " 'k'}}"


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def near_the_recursion_limit(work: Callable[[], Any]) -> Any:
    """`work()` called with only a few frames left before Python's recursion limit."""

    def down(frames: int) -> Any:
        return down(frames - 1) if frames else work()

    return down(sys.getrecursionlimit() - _stack_depth() - 25)


def test_a_chain_of_1000_else_ifs_renders_the_link_taken() -> None:
    """It was refused as "blocks nested too deeply" from about 330 links: each link recursed."""
    template = compile_template(else_if_chain(1000))
    assert template.render({"a999": True}, Escaping.NONE) == "999"
    assert template.render({"a500": 1, "a999": True}, Escaping.NONE) == "500"
    assert template.render({}, Escaping.NONE) == "none"


def test_a_long_chain_compiles_and_renders_near_the_recursion_limit() -> None:
    source = else_if_chain(3000) + " "
    assert near_the_recursion_limit(lambda: compile_template(source).render({}, Escaping.NONE)) == "none "


def test_nesting_at_the_limit_compiles_and_renders_whatever_the_callers_depth() -> None:
    """From about 330 levels, fewer from a deeper caller, it was refused; the limit is 100 from any depth."""
    source = nested_blocks(LIMIT)
    data = {"t": True, "x": "deep"}
    assert compile_template(source).render(data, Escaping.NONE) == "deep"
    again = source + " "  # not compiled yet
    assert near_the_recursion_limit(lambda: compile_template(again).render(data, Escaping.HTML)) == "deep "


def test_one_level_beyond_the_limit_is_refused_saying_so() -> None:
    with pytest.raises(TemplateSyntaxError, match=rf"^line 1: blocks nested deeper than {LIMIT}$"):
        compile_template(nested_blocks(LIMIT + 1))
    with pytest.raises(TemplateSyntaxError, match=rf"^line 3: blocks nested deeper than {LIMIT}$"):
        compile_template("\n{{#each x}}\n" + "{{#with y}}" * LIMIT + "{{/with}}" * LIMIT + "{{/each}}")


def test_a_block_once_closed_no_longer_counts() -> None:
    opened = "{{#if t}}" * (LIMIT - 1)
    for closed in ("{{#if t}}{{/if}}", "{{#> p}}{{/p}}", "{{{{if t}}}}{{{{/if}}}}"):
        at_the_limit = opened + closed + "{{#if t}}{{x}}{{/if}}" + "{{/if}}" * (LIMIT - 1)
        assert compile_template(at_the_limit).render({"t": True, "x": "x"}, Escaping.NONE) == "x"
        beyond = opened + closed + "{{#if t}}{{#if t}}{{/if}}{{/if}}" + "{{/if}}" * (LIMIT - 1)
        with pytest.raises(TemplateSyntaxError, match=rf"^line 1: blocks nested deeper than {LIMIT}$"):
            compile_template(beyond)


def test_a_chain_is_not_nesting_but_blocks_inside_its_links_are() -> None:
    inside = nested_blocks(LIMIT - 1)
    source = "{{#if f}}{{else if f}}{{else if t}}" + inside + "{{else}}" + inside + "{{/if}}"
    assert compile_template(source).render({"t": True, "x": "x"}, Escaping.NONE) == "x"
    too_deep = source.replace("{{else if t}}", "{{else if t}}{{#if t}}", 1).replace(
        "{{else}}", "{{/if}}{{else}}"
    )
    with pytest.raises(TemplateSyntaxError, match=f"blocks nested deeper than {LIMIT}"):
        compile_template(too_deep)


def test_sub_expressions_nest_to_the_same_limit() -> None:
    data: dict[str, Any] = {"k": "value"}
    for _ in range(LIMIT):
        data = {"k": data}
    source = nested_subexpressions(LIMIT)
    render = lambda: compile_template(source).render({"o": data}, Escaping.NONE)  # noqa: E731
    assert near_the_recursion_limit(render) == "value"
    with pytest.raises(TemplateSyntaxError, match=rf"^line 1: sub-expressions nested deeper than {LIMIT}$"):
        compile_template(nested_subexpressions(LIMIT + 1))


def nested_partial_blocks(levels: int) -> str:
    """`{{#> p0}}{{#> p1}}...{{x}}...{{/p1}}{{/p0}}`: no partial exists, so each renders its default."""
    opens = "".join(f"{{{{#> p{i}}}}}" for i in range(levels))
    return opens + "{{x}}" + "".join(f"{{{{/p{i}}}}}" for i in reversed(range(levels)))


def test_partial_blocks_and_raw_blocks_count_as_blocks() -> None:
    data = {"t": True, "x": "deep"}
    source = nested_partial_blocks(LIMIT)
    assert near_the_recursion_limit(lambda: compile_template(source).render(data, Escaping.NONE)) == "deep"
    with pytest.raises(TemplateSyntaxError, match=rf"^line 1: blocks nested deeper than {LIMIT}$"):
        compile_template(nested_partial_blocks(LIMIT + 1))
    raw = "{{{{if t}}}}{{x}}{{{{/if}}}}"
    assert (
        compile_template(nested_blocks(LIMIT - 1).replace("{{x}}", raw)).render(data, Escaping.NONE)
        == "{{x}}"
    )
    with pytest.raises(TemplateSyntaxError, match=rf"^line 1: blocks nested deeper than {LIMIT}$"):
        compile_template(nested_blocks(LIMIT).replace("{{x}}", raw))


# What runs out of room on the caller's stack runs again on a new one. A stage that raises RecursionError on
# the caller's thread only stands in for a caller too deep to compile or render there.


def _stage_name(frame: FrameType | None) -> str:
    """The handlebars module that asked: the first one up the stack other than the deadline's."""
    while frame is not None:
        module: str = frame.f_globals.get("__name__", "")
        if module.startswith("email_sender.handlebars.") and not module.endswith(".deadline"):
            return module.rsplit(".", 1)[1]
        frame = frame.f_back
    return "?"


class _WatchedClock:
    """Never out of time; notes which stage looked at the clock, on which thread."""

    def __init__(self) -> None:
        self.looks: set[tuple[str, str]] = set()

    def time_left(self) -> float:
        self.looks.add((threading.current_thread().name, _stage_name(sys._getframe(1))))
        return 1000.0


def _rows(n: int) -> str:
    marker = uuid.uuid4().hex  # a text not compiled before: the cache lasts the process
    return "".join(f"<p>{{{{#if a}}}}{{{{b.c}}}}{{{{/if}}}} {marker}{i}</p>\n" for i in range(n))


def _fails_on(thread: threading.Thread, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, except on `thread`, where it raises RecursionError as a call from too deep a stack would."""

    def stand_in(*args: Any) -> Any:
        if threading.current_thread() is thread:
            raise RecursionError("maximum recursion depth exceeded")
        return real(*args)

    return stand_in


def _out_of_stack(*_: Any) -> Any:
    """A stage with no room on any stack."""
    raise RecursionError("maximum recursion depth exceeded")


def test_every_stage_of_a_compile_keeps_to_its_deadline() -> None:
    clock = _WatchedClock()
    compile_template(_rows(600), clock.time_left)
    stages = {stage for _, stage in clock.looks}
    assert {"lexer", "whitespace", "compiler"} <= stages


def test_a_compile_that_runs_out_of_stack_runs_again_on_a_new_one_within_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(template_module, "_Parser", _fails_on(threading.current_thread(), _Parser))
    clock = _WatchedClock()
    source = _rows(600)
    template = compile_template(source, clock.time_left)
    assert template.render({"a": True, "b": {"c": "x"}}, Escaping.NONE).startswith("<p>x ")
    again = {stage for thread, stage in clock.looks if thread == "handlebars-new-stack"}
    assert {"lexer", "whitespace", "compiler"} <= again


def test_a_compile_with_no_room_even_on_a_new_stack_is_refused_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(template_module, "_Parser", _out_of_stack)
    with pytest.raises(TemplateSyntaxError) as raised:
        compile_template(f"{{{{x}}}} {uuid.uuid4().hex}")
    assert str(raised.value) == "nested too deeply to compile"


def test_a_render_that_runs_out_of_stack_runs_again_on_a_new_one_escaping_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = compile_template("<b>{{x}}</b>{{{x}}}")
    threads: list[str] = []

    def execute(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return _execute(*args)

    monkeypatch.setattr(template_module, "_execute", _fails_on(threading.current_thread(), execute))
    assert template.render({"x": "<i>"}, Escaping.HTML) == "<b>&lt;i&gt;</b>&lt;i&gt;"
    assert template.render({"x": "<i>"}, Escaping.HTML, raw=str.upper) == "<b>&lt;i&gt;</b><I>"
    assert template.render({"x": "<i>"}, Escaping.NONE) == "<b><i></b><i>"
    assert threads == ["handlebars-new-stack"] * 3


def test_a_render_with_no_room_even_on_a_new_stack_is_refused_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = compile_template("{{x}}")
    monkeypatch.setattr(template_module, "_execute", _out_of_stack)
    with pytest.raises(TemplateRenderError) as raised:
        template.render({"x": 1}, Escaping.NONE)
    assert str(raised.value) == "data or partials nested too deeply to render"
